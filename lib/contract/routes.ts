import { z } from "zod";
import { endpoints } from "./endpoints";
import { calibrateNgRequest, calibrateNgResponse } from "./calibrateNg";
import { fitOkRequest, fitOkResponse } from "./fitOk";
import { healthResponse } from "./health";
import { getJobRequest, jobAccepted, jobResponse } from "./jobs";
import { calibrateDatasetRequest, calibrateDatasetResponse, inferDatasetRequest, inferDatasetResponse } from "./batch";
import { inferRequest, inferResponse } from "./infer";
import {
  commitUploadsRequest,
  createUploadsRequest,
  createUploadsResponse,
  datasetClearResponse,
  datasetDeleteResponse,
  datasetFileQuery,
  datasetFileRequest,
  datasetFileResponse,
  datasetLabelQuery,
  datasetListResponse,
  datasetMetaResponse,
  datasetQuery,
  datasetUploadRequest,
  datasetUploadResponse,
  manifestResponse,
  modelQuery,
  stateResponse,
} from "./datasets";
import {
  activateModelRequest,
  activateModelResponse,
  deleteModelVersionRequest,
  deleteModelVersionResponse,
  listModelsRequest,
  listModelsResponse,
} from "./models";
import { getRecipeSettingsRequest, putRecipeSettingsRequest, recipeSettingsResponse } from "./recipeSettings";

/** How a route's request arrives: multipart/form-data, a JSON body, the URL's query string, or nothing. */
export type BodyKind = "multipart" | "json" | "query" | "none";

export interface RouteSpec<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType, Acc extends z.ZodType | undefined = z.ZodType | undefined> {
  /** operationId in the OpenAPI document and `endpoint` in the logs. */
  readonly name: string;
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** As in serverless.yml, without the leading slash. */
  readonly path: string;
  readonly summary: string;
  readonly body: BodyKind;
  readonly request: Req;
  readonly response: Res;
  /** The 202 answer when the work becomes a job (routes that may run long). */
  readonly accepted?: Acc;
  /** Error statuses this route can answer (besides 500/503, which every route can). */
  readonly errors: readonly number[];
  /**
   * Reachable without the API key on stages that require one (the documentation only);
   * serverless.yml's custom.apiAccess.publicPaths lists the same paths (a test checks).
   */
  readonly public?: boolean;
  /** The media type of a 200 answer (default application/json; the documentation's page and assets are text). */
  readonly produces?: "application/json" | "text/html" | "text/css" | "text/javascript";
}

function route<Req extends z.ZodType, Res extends z.ZodType, Acc extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<Req, Res, Acc>,
): RouteSpec<Req, Res, Acc> {
  return spec;
}

const noInput = z.object({});
const text = (id: string, description: string) => z.string().meta({ id, description });

/** Every route of the service: serverless.yml's http events and the OpenAPI document follow this table. */
export const routes = {
  health: route({
    ...endpoints.health,
    summary: "The model actually loaded, the package version, the runtime.",
    body: "none",
    request: noInput,
    response: healthResponse,
    errors: [],
  }),
  openapi: route({
    ...endpoints.openapi,
    summary: "This document: the OpenAPI 3.1 description of the API, generated from the request and response schemas.",
    body: "none",
    request: noInput,
    response: z.record(z.string(), z.unknown()).meta({ id: "OpenApiDocument" }),
    errors: [],
    public: true,
  }),
  docs: route({
    ...endpoints.docs,
    summary: "Swagger UI on this document: every operation, with Try it out (its assets are served by the two routes below, no CDN).",
    body: "none",
    request: noInput,
    response: text("SwaggerUiPage", "The Swagger UI page (HTML)."),
    errors: [],
    public: true,
    produces: "text/html",
  }),
  docsCss: route({
    ...endpoints.docsCss,
    summary: "Swagger UI's stylesheet (swagger-ui-dist, packaged with the function).",
    body: "none",
    request: noInput,
    response: text("SwaggerUiCss", "swagger-ui.css"),
    errors: [],
    public: true,
    produces: "text/css",
  }),
  docsJs: route({
    ...endpoints.docsJs,
    summary: "Swagger UI's script (swagger-ui-dist, packaged with the function).",
    body: "none",
    request: noInput,
    response: text("SwaggerUiBundle", "swagger-ui-bundle.js"),
    errors: [],
    public: true,
    produces: "text/javascript",
  }),
  console: route({
    ...endpoints.console,
    summary:
      "The web console: datasets, fits, inspections with their heatmaps, calibration, batches and model versions, in a browser (its assets are the two routes below; it calls this API, with the key it asks for).",
    body: "none",
    request: noInput,
    response: text("ConsolePage", "The console's page (HTML)."),
    errors: [],
    public: true,
    produces: "text/html",
  }),
  consoleCss: route({
    ...endpoints.consoleCss,
    summary: "The console's stylesheet.",
    body: "none",
    request: noInput,
    response: text("ConsoleCss", "app.css"),
    errors: [],
    public: true,
    produces: "text/css",
  }),
  consoleJs: route({
    ...endpoints.consoleJs,
    summary: "The console's script (built from console/ with the function, no CDN).",
    body: "none",
    request: noInput,
    response: text("ConsoleScript", "app.js"),
    errors: [],
    public: true,
    produces: "text/javascript",
  }),
  fitOk: route({
    ...endpoints.fitOk,
    summary: "Fit the PatchCore memory of a ROI on good images (coreset unless memory_fit).",
    body: "multipart",
    request: fitOkRequest,
    response: fitOkResponse,
    accepted: jobAccepted,
    errors: [400, 413, 415],
  }),
  calibrateNg: route({
    ...endpoints.calibrateNg,
    summary: "Threshold from the scores of good (and defective) parts, with the old backend's rule; stored beside the memory.",
    body: "json",
    request: calibrateNgRequest,
    response: calibrateNgResponse,
    errors: [400, 413, 415],
  }),
  infer: route({
    ...endpoints.infer,
    summary: "Score one ROI image: score, threshold, heatmap PNG and defect regions.",
    body: "multipart",
    request: inferRequest,
    response: inferResponse,
    errors: [400, 413, 415],
  }),
  getRecipeSettings: route({
    ...endpoints.getRecipeSettings,
    summary: "A recipe's settings: its area rule and its mm_per_px lock.",
    body: "query",
    request: getRecipeSettingsRequest,
    response: recipeSettingsResponse,
    errors: [400],
  }),
  putRecipeSettings: route({
    ...endpoints.putRecipeSettings,
    summary: "Change a recipe's area rule (e.g. the old backend's contour area for a line migrating from it), or clear its mm_per_px lock.",
    body: "json",
    request: putRecipeSettingsRequest,
    response: recipeSettingsResponse,
    errors: [400, 413, 415],
  }),
  datasetsUploadOk: route({
    ...endpoints.datasetsUploadOk,
    summary: "Store good (OK) images of a ROI in its dataset, with one meta each.",
    body: "multipart",
    request: datasetUploadRequest,
    response: datasetUploadResponse,
    errors: [400, 409, 413, 415],
  }),
  datasetsUploadNg: route({
    ...endpoints.datasetsUploadNg,
    summary: "Store defective (NG) images of a ROI in its dataset, with one meta each.",
    body: "multipart",
    request: datasetUploadRequest,
    response: datasetUploadResponse,
    errors: [400, 409, 413, 415],
  }),
  datasetsUploads: route({
    ...endpoints.datasetsUploads,
    summary: "Presigned PUT URLs to upload many or large images straight to S3 (then POST /datasets/uploads/commit).",
    body: "json",
    request: createUploadsRequest,
    response: createUploadsResponse,
    errors: [400, 413, 415],
  }),
  datasetsUploadsCommit: route({
    ...endpoints.datasetsUploadsCommit,
    summary: "Register images uploaded with presigned URLs in the dataset, with their metas.",
    body: "json",
    request: commitUploadsRequest,
    response: datasetUploadResponse,
    errors: [400, 409, 413, 415],
  }),
  datasetsList: route({
    ...endpoints.datasetsList,
    summary: "The files of a ROI's dataset, per label.",
    body: "query",
    request: datasetQuery,
    response: datasetListResponse,
    errors: [400],
  }),
  datasetsFile: route({
    ...endpoints.datasetsFile,
    summary: "One stored image: a 302 to a short-lived URL of its bytes (with its Content-Type); redirect=false: that link as JSON.",
    body: "query",
    request: datasetFileRequest,
    response: datasetFileResponse,
    errors: [400, 404],
  }),
  datasetsMeta: route({
    ...endpoints.datasetsMeta,
    summary: "The meta stored with one image.",
    body: "query",
    request: datasetFileQuery,
    response: datasetMetaResponse,
    errors: [400, 404],
  }),
  datasetsDeleteFile: route({
    ...endpoints.datasetsDeleteFile,
    summary: "Remove one image (and its meta) from the dataset.",
    body: "query",
    request: datasetFileQuery,
    response: datasetDeleteResponse,
    errors: [400],
  }),
  datasetsClear: route({
    ...endpoints.datasetsClear,
    summary: "Remove every image of one label from the dataset.",
    body: "query",
    request: datasetLabelQuery,
    response: datasetClearResponse,
    errors: [400],
  }),
  state: route({
    ...endpoints.state,
    summary: "Whether a model has a memory and a calibration.",
    body: "query",
    request: modelQuery,
    response: stateResponse,
    errors: [400],
  }),
  manifest: route({
    ...endpoints.manifest,
    summary: "What is stored for a model: memory, calibration, and its ROI's dataset.",
    body: "query",
    request: modelQuery,
    response: manifestResponse,
    errors: [400],
  }),
  inferDataset: route({
    ...endpoints.inferDataset,
    summary:
      "Score every stored image of a ROI's dataset (labels), fanned out over workers; one bad image is an item with an error. A batch over the synchronous budget becomes a job (202).",
    body: "json",
    request: inferDatasetRequest,
    response: inferDatasetResponse,
    accepted: jobAccepted,
    errors: [400, 413, 415],
  }),
  calibrateDataset: route({
    ...endpoints.calibrateDataset,
    summary: "Score the stored OK and NG images, apply the threshold rule of /calibrate_ng, store the calibration. A large dataset becomes a job (202).",
    body: "json",
    request: calibrateDatasetRequest,
    response: calibrateDatasetResponse,
    accepted: jobAccepted,
    errors: [400, 413, 415],
  }),
  getJob: route({
    ...endpoints.getJob,
    summary: "A job's state, progress (images done / to do), timings, and its result or error.",
    body: "query",
    request: getJobRequest,
    response: jobResponse,
    errors: [400, 404],
  }),
  listModels: route({
    ...endpoints.listModels,
    summary: "Every version of a model, newest first, with its figures and calibration, and which one is active.",
    body: "query",
    request: listModelsRequest,
    response: listModelsResponse,
    errors: [400],
  }),
  activateModel: route({
    ...endpoints.activateModel,
    summary: "Serve another version of a model from now on, with its own calibration (a rollback is the activation of the version before).",
    body: "json",
    request: activateModelRequest,
    response: activateModelResponse,
    errors: [400, 404, 413, 415],
  }),
  deleteModelVersion: route({
    ...endpoints.deleteModelVersion,
    summary: "Remove a version of a model (not the active one); its number is never given again.",
    body: "query",
    request: deleteModelVersionRequest,
    response: deleteModelVersionResponse,
    errors: [400, 404, 409],
  }),
} as const;

export type Routes = typeof routes;
export type RouteName = keyof Routes;
/** What a use case returns for a route: the response without the request id the edge adds. */
export type ResultOf<R extends RouteSpec> =
  Omit<z.infer<R["response"]>, "request_id"> | (NonNullable<R["accepted"]> extends z.ZodType ? Omit<z.infer<NonNullable<R["accepted"]>>, "request_id"> : never);
export type InputOf<R extends RouteSpec> = z.output<R["request"]>;
