import { listModelVersions } from "../lib/app/models/manageVersions";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** GET /models: every version of a model, newest first, and which is active. */
export const handler = httpRoute(routes.listModels, services.edge, (input, ctx) => listModelVersions(services, input, ctx));
