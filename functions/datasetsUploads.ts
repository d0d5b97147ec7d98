import { createUploads } from "../lib/app/datasets/directUploads";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** POST /datasets/uploads (application/json): presigned PUT URLs for direct uploads to S3. */
export const handler = httpRoute(routes.datasetsUploads, services.edge, (input, ctx) => createUploads(services, input, ctx));
