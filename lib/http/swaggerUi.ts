import { readFileSync } from "node:fs";
import path from "node:path";

/** Swagger UI's files, from the swagger-ui-dist package (packaged with the docs function, no CDN). */
export interface SwaggerUiAssets {
  readonly css: string;
  readonly bundleJs: string;
  readonly version: string;
}

/**
 * Reads the assets once (the docs function's INIT). swagger-ui-dist is found at run time, not
 * bundled: beside the function in Lambda (serverless.yml's package patterns), in node_modules locally.
 */
export function loadSwaggerUiAssets(): SwaggerUiAssets {
  const dir = path.dirname(require.resolve("swagger-ui-dist/package.json"));
  const read = (file: string) => readFileSync(path.join(dir, file), "utf8");
  return {
    // source maps are not packaged: no reference to them either
    css: read("swagger-ui.css").replace(/\/\*# sourceMappingURL=\S+\s*\*\/\s*$/, ""),
    bundleJs: read("swagger-ui-bundle.js").replace(/\/\/# sourceMappingURL=\S+\s*$/, ""),
    version: (JSON.parse(read("package.json")) as { version: string }).version,
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** A JSON value safe inside an inline <script> (no "</script>", no "<!--"). */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

/**
 * The Swagger UI page. Every URL in it is relative to the page (/docs), so it works wherever the
 * API is mounted: /docs locally, /<stage>/docs on an execute-api URL, /<base path>/docs on a
 * custom domain. The document's server URL is relative too (lib/contract/openapi.ts), so
 * "Try it out" calls the same stage.
 */
export function swaggerUiPage(title: string): string {
  const config = {
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // no call to the public validator: factories are often offline
    validatorUrl: null,
    displayRequestDuration: true,
  };
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<script>
// relative URLs below resolve against /docs, not /docs/
if (location.pathname.endsWith("/")) location.replace(location.pathname.replace(/\\/+$/, "") + location.search + location.hash);
</script>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle(Object.assign(${scriptJson(config)}, { presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout" }));
</script>
</body>
</html>
`;
}
