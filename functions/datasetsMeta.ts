import { datasetMeta } from "../lib/app/datasets/browse";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** GET /datasets/meta: the meta stored with one image. */
export const handler = httpRoute(routes.datasetsMeta, services.edge, (input, ctx) => datasetMeta(services, input, ctx));
