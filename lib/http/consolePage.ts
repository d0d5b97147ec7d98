const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The console's page: a shell the script fills. Its asset URLs are relative to the page, so it
 * works wherever the API is mounted (/console locally, /<stage>/console on an execute-api URL);
 * the script finds the API the same way (console/api.ts). `assetVersion` (a digest of the
 * assets) makes a new deployment's page fetch its own assets past the browser's day-long cache.
 */
export function consolePage(title: string, assetVersion: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="console/app.css?v=${escapeHtml(assetVersion)}">
</head>
<body>
<div id="app"><p class="boot">Loading the console...</p></div>
<noscript>The console needs JavaScript.</noscript>
<script src="console/app.js?v=${escapeHtml(assetVersion)}"></script>
</body>
</html>
`;
}
