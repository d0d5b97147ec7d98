import { commitUploads } from "../lib/datasets/directUploads";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** POST /datasets/uploads/commit (application/json): register directly uploaded images in the dataset. */
export const handler = httpRoute(routes.datasetsUploadsCommit, { log: services.log, limits: services.config.limits }, (input, ctx) =>
  commitUploads(services, input, ctx),
);
