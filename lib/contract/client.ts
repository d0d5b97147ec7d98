import type { z } from "zod";
import type { CalibrateNgResponse } from "./calibrateNg";
import { errorBody, type ErrorBody } from "./common";
import type { FitOkResponse } from "./fitOk";
import type { HealthResponse } from "./health";
import type { InferResponse } from "./infer";
import type { RecipeSettingsResponse } from "./recipeSettings";
import { routes, type RouteSpec } from "./routes";

/** An image to upload: its bytes, the filename the service will see, and its media type (default from the name). */
export interface ImageFile {
  readonly filename: string;
  readonly data: Uint8Array;
  readonly type?: string;
}

type TextValue = string | number | boolean | null | undefined;

type OptionalKeys<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];

/** A route's multipart text fields as the client gives them: numbers and booleans are written as invariant text. */
type FormFields<Req extends z.ZodType, Files extends string> = {
  [K in Exclude<keyof z.input<Req>, Files | OptionalKeys<z.input<Req>>>]: string | number | boolean;
} & { [K in Exclude<OptionalKeys<z.input<Req>>, Files>]?: TextValue };

export type FitOkFields = FormFields<(typeof routes)["fitOk"]["request"], "images">;
export type InferFields = FormFields<(typeof routes)["infer"]["request"], "image">;
export type CalibrateNgBody = z.input<(typeof routes)["calibrateNg"]["request"]>;
export type RecipeSettingsBody = z.input<(typeof routes)["putRecipeSettings"]["request"]>;

/** One answer: status, headers, and the body (the route's response on 200, else the error body). */
export class Reply<T> {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    readonly body: T | ErrorBody,
  ) {}

  /** The response body; throws with the service's message when the status is not 200. */
  ok(): T {
    if (this.status !== 200) throw new Error(`HTTP ${this.status}: ${(this.body as ErrorBody).error} (${(this.body as ErrorBody).code})`);
    return this.body as T;
  }

  /** The error body; throws when the request succeeded. */
  error(): ErrorBody {
    if (this.status === 200) throw new Error("expected an error, got 200");
    return this.body as ErrorBody;
  }
}

export interface ClientOptions {
  /** Sent as x-api-key (API Gateway's API keys). */
  readonly apiKey?: string;
  /** Sent with every request (e.g. X-Recipe-Id). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Check every body against the contract's schema (tests); a mismatch throws. */
  readonly validate?: boolean;
}

function mediaTypeOf(file: ImageFile): string {
  return file.type ?? (/\.jpe?g$/i.test(file.filename) ? "image/jpeg" : "image/png");
}

/** The service's API, typed by the contract: used by the tests, `npm run eval`, the bench and the CLI. */
export class InspectionClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly options: ClientOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  health(headers: Record<string, string> = {}): Promise<Reply<HealthResponse>> {
    return this.send(routes.health, undefined, headers);
  }

  openapi(): Promise<Reply<Record<string, unknown>>> {
    return this.send(routes.openapi, undefined, {});
  }

  fitOk(fields: FitOkFields, images: readonly ImageFile[], headers: Record<string, string> = {}): Promise<Reply<FitOkResponse>> {
    return this.send(routes.fitOk, this.form(fields, images.map((file) => ["images", file])), headers);
  }

  infer(fields: InferFields, image: ImageFile, headers: Record<string, string> = {}): Promise<Reply<InferResponse>> {
    return this.send(routes.infer, this.form(fields, [["image", image]]), headers);
  }

  calibrateNg(body: CalibrateNgBody, headers: Record<string, string> = {}): Promise<Reply<CalibrateNgResponse>> {
    return this.send(routes.calibrateNg, JSON.stringify(body), { "Content-Type": "application/json", ...headers });
  }

  getRecipeSettings(recipeId?: string): Promise<Reply<RecipeSettingsResponse>> {
    return this.send(routes.getRecipeSettings, undefined, {}, recipeId === undefined ? {} : { recipe_id: recipeId });
  }

  putRecipeSettings(body: RecipeSettingsBody): Promise<Reply<RecipeSettingsResponse>> {
    return this.send(routes.putRecipeSettings, JSON.stringify(body), { "Content-Type": "application/json" });
  }

  private form(fields: Record<string, TextValue>, files: readonly [string, ImageFile][]): FormData {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined && value !== null) form.append(name, String(value));
    }
    for (const [name, file] of files) form.append(name, new Blob([file.data], { type: mediaTypeOf(file) }), file.filename);
    return form;
  }

  private async send<T>(spec: RouteSpec, body: FormData | string | undefined, headers: Record<string, string>, query: Record<string, string> = {}): Promise<Reply<T>> {
    const search = new URLSearchParams(query).toString();
    const response = await fetch(`${this.baseUrl}/${spec.path}${search ? `?${search}` : ""}`, {
      method: spec.method,
      headers: { ...(this.options.apiKey ? { "x-api-key": this.options.apiKey } : {}), ...this.options.headers, ...headers },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${spec.method} /${spec.path}: HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
    }
    if (this.options.validate) {
      const schema = response.status === 200 ? spec.response : errorBody;
      const checked = schema.safeParse(parsed);
      if (!checked.success) throw new Error(`${spec.method} /${spec.path}: HTTP ${response.status} body breaks the contract: ${checked.error.message}`);
    }
    return new Reply<T>(response.status, response.headers, parsed as T | ErrorBody);
  }
}
