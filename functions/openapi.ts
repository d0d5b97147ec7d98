import { loadConfig } from "../lib/config";
import { openApiDocument } from "../lib/contract/openapi";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";
import { createLogger } from "../lib/log";

const config = loadConfig(process.env);
const log = createLogger(config.logLevel, { service: "patchcore-inspection-api" });
// Generated once per container from the contract's schemas.
const document = openApiDocument(config.version);

/** GET /openapi.json: the OpenAPI 3.1 document of this API. */
export const handler = httpRoute(routes.openapi, { log, limits: config.limits }, async () => document);
