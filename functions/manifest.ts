import { modelManifest } from "../lib/app/models/state";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** GET /manifest: what is stored for a model and its ROI's dataset. */
export const handler = httpRoute(routes.manifest, services.edge, (input, ctx) => modelManifest(services, input, ctx));
