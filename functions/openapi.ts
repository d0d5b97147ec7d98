import { createBaseServices } from "../lib/app/baseServices";
import { openApiDocument } from "../lib/contract/openapi";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed, logger (no store, no model).
const services = createBaseServices();
// Generated once per container from the contract's schemas.
const document = openApiDocument(services.config.version);

/** GET /openapi.json: the OpenAPI 3.1 document of this API. */
export const handler = httpRoute(routes.openapi, services.edge, async () => document);
