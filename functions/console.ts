import { createHash } from "node:crypto";
import { css, js } from "console-bundle";
import { createBaseServices } from "../lib/app/baseServices";
import { routes } from "../lib/contract/routes";
import { consolePage } from "../lib/http/consolePage";
import { byRoute, httpText } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed, logger (no store, no model).
const { config, edge } = createBaseServices();
const page = consolePage(`PatchCore inspection console ${config.version}`, createHash("sha256").update(js).update(css).digest("hex").slice(0, 12));
const DAY = 24 * 3600;

/** GET /console, /console/app.css, /console/app.js: the web console, which calls this API from the browser. */
export const handler = byRoute({
  [`/${routes.console.path}`]: httpText(routes.console, edge, async () => ({ body: page, contentType: "text/html; charset=utf-8" })),
  [`/${routes.consoleCss.path}`]: httpText(routes.consoleCss, edge, async () => ({ body: css, contentType: "text/css; charset=utf-8", cacheSeconds: DAY })),
  [`/${routes.consoleJs.path}`]: httpText(routes.consoleJs, edge, async () => ({ body: js, contentType: "text/javascript; charset=utf-8", cacheSeconds: DAY })),
});
