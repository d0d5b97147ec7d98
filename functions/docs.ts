import { createBaseServices } from "../lib/app/baseServices";
import { routes } from "../lib/contract/routes";
import { byRoute, httpText } from "../lib/http/route";
import { loadSwaggerUiAssets, swaggerUiPage } from "../lib/http/swaggerUi";

// Composition root, run during Lambda INIT: config parsed, logger (no store, no model).
const { config, edge } = createBaseServices();
// Read once per container; they are part of the function's package (serverless.yml).
const assets = loadSwaggerUiAssets();
const page = swaggerUiPage(`PatchCore inspection API ${config.version}`);
const DAY = 24 * 3600;

/** GET /docs, /docs/swagger-ui.css, /docs/swagger-ui-bundle.js: Swagger UI on GET /openapi.json. */
export const handler = byRoute({
  [`/${routes.docs.path}`]: httpText(routes.docs, edge, async () => ({ body: page, contentType: "text/html; charset=utf-8" })),
  [`/${routes.docsCss.path}`]: httpText(routes.docsCss, edge, async () => ({ body: assets.css, contentType: "text/css; charset=utf-8", cacheSeconds: DAY })),
  [`/${routes.docsJs.path}`]: httpText(routes.docsJs, edge, async () => ({
    body: assets.bundleJs,
    contentType: "text/javascript; charset=utf-8",
    cacheSeconds: DAY,
  })),
});
