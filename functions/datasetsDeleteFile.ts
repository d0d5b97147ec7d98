import { deleteDatasetFile } from "../lib/app/datasets/browse";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** DELETE /datasets/file: remove one image and its meta. */
export const handler = httpRoute(routes.datasetsDeleteFile, services.edge, (input, ctx) => deleteDatasetFile(services, input, ctx));
