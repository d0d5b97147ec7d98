import { clearDatasetLabel } from "../lib/app/datasets/browse";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** DELETE /datasets/clear: remove every image of one label. */
export const handler = httpRoute(routes.datasetsClear, services.edge, (input, ctx) => clearDatasetLabel(services, input, ctx));
