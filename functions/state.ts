import { modelState } from "../lib/app/models/state";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** GET /state: whether a model has a memory and a calibration. */
export const handler = httpRoute(routes.state, services.edge, (input, ctx) => modelState(services, input, ctx));
