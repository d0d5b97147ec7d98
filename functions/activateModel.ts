import { activateModelVersion } from "../lib/app/models/manageVersions";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** POST /models/activate: serve another version (a rollback is the activation of the one before). */
export const handler = httpRoute(routes.activateModel, services.edge, (input, ctx) => activateModelVersion(services, input, ctx));
