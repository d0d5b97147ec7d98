import { deleteModelVersion } from "../lib/app/models/manageVersions";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** DELETE /models/version: remove a version that is not the active one. */
export const handler = httpRoute(routes.deleteModelVersion, services.edge, (input, ctx) => deleteModelVersion(services, input, ctx));
