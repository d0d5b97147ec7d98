import { commitUploads } from "../lib/app/datasets/directUploads";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** POST /datasets/uploads/commit (application/json): register directly uploaded images in the dataset. */
export const handler = httpRoute(routes.datasetsUploadsCommit, services.edge, (input, ctx) => commitUploads(services, input, ctx));
