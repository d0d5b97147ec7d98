import { inspectImage } from "../lib/app/inspection/inspect";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed, ONNX session load started.
const services = createServices(undefined, { loadModelNow: true });

/** POST /infer (multipart/form-data): score one ROI image, heatmap and defect regions. */
export const handler = httpRoute(routes.infer, services.edge, (input, ctx) => inspectImage(services, input, ctx));
