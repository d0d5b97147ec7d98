import { health } from "../lib/app/health/health";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed, ONNX session load started.
const services = createServices(undefined, { loadModelNow: true });

/** GET /health: the model actually loaded, the package version, the runtime. */
export const handler = httpRoute(routes.health, services.edge, (_input, ctx) => health(services, ctx));
