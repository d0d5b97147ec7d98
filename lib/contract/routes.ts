import { z } from "zod";
import { calibrateNgRequest, calibrateNgResponse } from "./calibrateNg";
import { fitOkRequest, fitOkResponse } from "./fitOk";
import { healthResponse } from "./health";
import { inferRequest, inferResponse } from "./infer";
import { getRecipeSettingsRequest, putRecipeSettingsRequest, recipeSettingsResponse } from "./recipeSettings";

/** How a route's request arrives: multipart/form-data, a JSON body, the URL's query string, or nothing. */
export type BodyKind = "multipart" | "json" | "query" | "none";

export interface RouteSpec<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  /** operationId in the OpenAPI document and `endpoint` in the logs. */
  readonly name: string;
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** As in serverless.yml, without the leading slash. */
  readonly path: string;
  readonly summary: string;
  readonly body: BodyKind;
  readonly request: Req;
  readonly response: Res;
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

function route<Req extends z.ZodType, Res extends z.ZodType>(spec: RouteSpec<Req, Res>): RouteSpec<Req, Res> {
  return spec;
}

const noInput = z.object({});
const text = (id: string, description: string) => z.string().meta({ id, description });

/** Every route of the service: serverless.yml's http events and the OpenAPI document follow this table. */
export const routes = {
  health: route({
    name: "health",
    method: "GET",
    path: "health",
    summary: "The model actually loaded, the package version, the runtime.",
    body: "none",
    request: noInput,
    response: healthResponse,
    errors: [],
  }),
  openapi: route({
    name: "openapi",
    method: "GET",
    path: "openapi.json",
    summary: "This document: the OpenAPI 3.1 description of the API, generated from the request and response schemas.",
    body: "none",
    request: noInput,
    response: z.record(z.string(), z.unknown()).meta({ id: "OpenApiDocument" }),
    errors: [],
    public: true,
  }),
  docs: route({
    name: "docs",
    method: "GET",
    path: "docs",
    summary: "Swagger UI on this document: every operation, with Try it out (its assets are served by the two routes below, no CDN).",
    body: "none",
    request: noInput,
    response: text("SwaggerUiPage", "The Swagger UI page (HTML)."),
    errors: [],
    public: true,
    produces: "text/html",
  }),
  docsCss: route({
    name: "docs_css",
    method: "GET",
    path: "docs/swagger-ui.css",
    summary: "Swagger UI's stylesheet (swagger-ui-dist, packaged with the function).",
    body: "none",
    request: noInput,
    response: text("SwaggerUiCss", "swagger-ui.css"),
    errors: [],
    public: true,
    produces: "text/css",
  }),
  docsJs: route({
    name: "docs_js",
    method: "GET",
    path: "docs/swagger-ui-bundle.js",
    summary: "Swagger UI's script (swagger-ui-dist, packaged with the function).",
    body: "none",
    request: noInput,
    response: text("SwaggerUiBundle", "swagger-ui-bundle.js"),
    errors: [],
    public: true,
    produces: "text/javascript",
  }),
  fitOk: route({
    name: "fit_ok",
    method: "POST",
    path: "fit_ok",
    summary: "Fit the PatchCore memory of a ROI on good images (coreset unless memory_fit).",
    body: "multipart",
    request: fitOkRequest,
    response: fitOkResponse,
    errors: [400, 413, 415],
  }),
  calibrateNg: route({
    name: "calibrate_ng",
    method: "POST",
    path: "calibrate_ng",
    summary: "Threshold from the scores of good (and defective) parts, with the old backend's rule; stored beside the memory.",
    body: "json",
    request: calibrateNgRequest,
    response: calibrateNgResponse,
    errors: [400, 413, 415],
  }),
  infer: route({
    name: "infer",
    method: "POST",
    path: "infer",
    summary: "Score one ROI image: score, threshold, heatmap PNG and defect regions.",
    body: "multipart",
    request: inferRequest,
    response: inferResponse,
    errors: [400, 413, 415],
  }),
  getRecipeSettings: route({
    name: "get_recipe_settings",
    method: "GET",
    path: "recipe_settings",
    summary: "A recipe's settings: its area rule and its mm_per_px lock.",
    body: "query",
    request: getRecipeSettingsRequest,
    response: recipeSettingsResponse,
    errors: [400],
  }),
  putRecipeSettings: route({
    name: "put_recipe_settings",
    method: "PUT",
    path: "recipe_settings",
    summary: "Change a recipe's area rule (e.g. the old backend's contour area for a line migrating from it), or clear its mm_per_px lock.",
    body: "json",
    request: putRecipeSettingsRequest,
    response: recipeSettingsResponse,
    errors: [400, 413, 415],
  }),
} as const;

export type Routes = typeof routes;
export type RouteName = keyof Routes;
/** What a use case returns for a route: the response without the request id the edge adds. */
export type ResultOf<R extends RouteSpec> = Omit<z.infer<R["response"]>, "request_id">;
export type InputOf<R extends RouteSpec> = z.output<R["request"]>;
