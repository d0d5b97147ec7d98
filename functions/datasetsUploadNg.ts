import { uploadImages } from "../lib/app/datasets/upload";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** POST /datasets/ng/upload (multipart/form-data): defective images into the ROI's dataset. */
export const handler = httpRoute(routes.datasetsUploadNg, services.edge, (input, ctx) => uploadImages(services, "ng", input, ctx));
