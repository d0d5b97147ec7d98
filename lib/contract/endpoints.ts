/**
 * Every route's name (operationId, and `endpoint` in the logs), method and path (as in
 * serverless.yml, without the leading slash): the one place they are written. lib/contract/routes.ts
 * adds each route's schemas; this table alone (no zod) is what a browser's client needs.
 */
export const endpoints = {
  health: { name: "health", method: "GET", path: "health" },
  openapi: { name: "openapi", method: "GET", path: "openapi.json" },
  docs: { name: "docs", method: "GET", path: "docs" },
  docsCss: { name: "docs_css", method: "GET", path: "docs/swagger-ui.css" },
  docsJs: { name: "docs_js", method: "GET", path: "docs/swagger-ui-bundle.js" },
  console: { name: "console", method: "GET", path: "console" },
  consoleCss: { name: "console_css", method: "GET", path: "console/app.css" },
  consoleJs: { name: "console_js", method: "GET", path: "console/app.js" },
  fitOk: { name: "fit_ok", method: "POST", path: "fit_ok" },
  calibrateNg: { name: "calibrate_ng", method: "POST", path: "calibrate_ng" },
  infer: { name: "infer", method: "POST", path: "infer" },
  getRecipeSettings: { name: "get_recipe_settings", method: "GET", path: "recipe_settings" },
  putRecipeSettings: { name: "put_recipe_settings", method: "PUT", path: "recipe_settings" },
  datasetsUploadOk: { name: "datasets_upload_ok", method: "POST", path: "datasets/ok/upload" },
  datasetsUploadNg: { name: "datasets_upload_ng", method: "POST", path: "datasets/ng/upload" },
  datasetsUploads: { name: "datasets_uploads", method: "POST", path: "datasets/uploads" },
  datasetsUploadsCommit: { name: "datasets_uploads_commit", method: "POST", path: "datasets/uploads/commit" },
  datasetsList: { name: "datasets_list", method: "GET", path: "datasets/list" },
  datasetsFile: { name: "datasets_file", method: "GET", path: "datasets/file" },
  datasetsMeta: { name: "datasets_meta", method: "GET", path: "datasets/meta" },
  datasetsDeleteFile: { name: "datasets_delete_file", method: "DELETE", path: "datasets/file" },
  datasetsClear: { name: "datasets_clear", method: "DELETE", path: "datasets/clear" },
  state: { name: "state", method: "GET", path: "state" },
  manifest: { name: "manifest", method: "GET", path: "manifest" },
  inferDataset: { name: "infer_dataset", method: "POST", path: "infer_dataset" },
  calibrateDataset: { name: "calibrate_dataset", method: "POST", path: "calibrate_dataset" },
  getJob: { name: "get_job", method: "GET", path: "jobs/{id}" },
  listModels: { name: "list_models", method: "GET", path: "models" },
  activateModel: { name: "activate_model", method: "POST", path: "models/activate" },
  deleteModelVersion: { name: "delete_model_version", method: "DELETE", path: "models/version" },
} as const satisfies Record<string, Endpoint>;

export interface Endpoint {
  readonly name: string;
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
}

export type EndpointName = keyof typeof endpoints;
