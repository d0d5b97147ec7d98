import { datasetFile } from "../lib/app/datasets/browse";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute, json, redirect } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** GET /datasets/file: a 302 to a short-lived URL of the stored image's bytes (redirect=false: the link as JSON). */
export const handler = httpRoute(
  routes.datasetsFile,
  services.edge,
  (input, ctx) => datasetFile(services, input, ctx),
  (result, requestId, input) => (input.redirect === "false" ? json(200, { ...result, request_id: requestId }, requestId) : redirect(result.url, requestId)),
);
