import type { z } from "zod";
import type { CalibrateNgResponse } from "./calibrateNg";
import type { ErrorBody } from "./common";
import { endpoints, type Endpoint, type EndpointName } from "./endpoints";
import type { FitOkResponse } from "./fitOk";
import type { HealthResponse } from "./health";
import type { InferResponse } from "./infer";
import type { JobAccepted } from "./jobs";
import type { RecipeSettingsResponse } from "./recipeSettings";
import type { routes } from "./routes";

/** Statuses of a poll worth repeating: throttled, gateway errors, the store briefly unavailable. */
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

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
export type DatasetUploadFields = FormFields<(typeof routes)["datasetsUploadOk"]["request"], "images" | "metas">;
type QueryOf<K extends keyof typeof routes> = z.input<(typeof routes)[K]["request"]>;
type ResponseOf<K extends keyof typeof routes> = z.infer<(typeof routes)[K]["response"]>;
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

  /** The 202 body of work that became a job; throws otherwise. */
  accepted(): JobAccepted {
    if (this.status !== 202) throw new Error(`expected 202 Accepted, got HTTP ${this.status}: ${JSON.stringify(this.body).slice(0, 300)}`);
    return this.body as unknown as JobAccepted;
  }

  /** The error body; throws when the request succeeded. */
  error(): ErrorBody {
    if (this.status < 300) throw new Error(`expected an error, got ${this.status}`);
    return this.body as ErrorBody;
  }
}

export interface ClientOptions {
  /** Sent as x-api-key (API Gateway's API keys). */
  readonly apiKey?: string;
  /** Sent with every request (e.g. X-Recipe-Id). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A route to call: its key in the route table, method and path. */
type Call = Endpoint & { readonly key: EndpointName };

function endpoint(key: EndpointName): Call {
  return { ...endpoints[key], key };
}

function mediaTypeOf(file: ImageFile): string {
  return file.type ?? (/\.jpe?g$/i.test(file.filename) ? "image/jpeg" : "image/png");
}

/**
 * The service's API, typed by the contract (its types only, and the route table of
 * ./endpoints.ts: no schema at run time, so a browser's bundle stays small: the web console).
 * lib/contract/client.ts's InspectionClient adds the schemas' checks for the tests, the CLI, the
 * bench and `npm run eval`.
 */
export class ApiClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly options: ClientOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  health(headers: Record<string, string> = {}): Promise<Reply<HealthResponse>> {
    return this.send(endpoint("health"), undefined, headers);
  }

  openapi(): Promise<Reply<Record<string, unknown>>> {
    return this.send(endpoint("openapi"), undefined, {});
  }

  fitOk(fields: FitOkFields, images: readonly ImageFile[], headers: Record<string, string> = {}): Promise<Reply<FitOkResponse>> {
    return this.send(
      endpoint("fitOk"),
      this.form(
        fields,
        images.map((file) => ["images", file]),
      ),
      headers,
    );
  }

  infer(fields: InferFields, image: ImageFile, headers: Record<string, string> = {}): Promise<Reply<InferResponse>> {
    return this.send(endpoint("infer"), this.form(fields, [["image", image]]), headers);
  }

  calibrateNg(body: CalibrateNgBody, headers: Record<string, string> = {}): Promise<Reply<CalibrateNgResponse>> {
    return this.send(endpoint("calibrateNg"), JSON.stringify(body), { "Content-Type": "application/json", ...headers });
  }

  getRecipeSettings(recipeId?: string): Promise<Reply<RecipeSettingsResponse>> {
    return this.send(endpoint("getRecipeSettings"), undefined, {}, recipeId === undefined ? {} : { recipe_id: recipeId });
  }

  putRecipeSettings(body: RecipeSettingsBody): Promise<Reply<RecipeSettingsResponse>> {
    return this.send(endpoint("putRecipeSettings"), JSON.stringify(body), { "Content-Type": "application/json" });
  }

  /** POST /datasets/{label}/upload: images with one meta object each (JSON text parts). */
  uploadDataset(
    label: "ok" | "ng",
    fields: DatasetUploadFields,
    images: readonly ImageFile[],
    metas: readonly object[] = [],
    headers: Record<string, string> = {},
  ): Promise<Reply<ResponseOf<"datasetsUploadOk">>> {
    const form = this.form(
      fields,
      images.map((file) => ["images", file]),
    );
    for (const meta of metas) form.append("metas", JSON.stringify(meta));
    return this.send(endpoint(label === "ok" ? "datasetsUploadOk" : "datasetsUploadNg"), form, headers);
  }

  createUploads(body: QueryOf<"datasetsUploads">): Promise<Reply<ResponseOf<"datasetsUploads">>> {
    return this.send(endpoint("datasetsUploads"), JSON.stringify(body), { "Content-Type": "application/json" });
  }

  commitUploads(body: QueryOf<"datasetsUploadsCommit">): Promise<Reply<ResponseOf<"datasetsUploadsCommit">>> {
    return this.send(endpoint("datasetsUploadsCommit"), JSON.stringify(body), { "Content-Type": "application/json" });
  }

  listDataset(query: QueryOf<"datasetsList">): Promise<Reply<ResponseOf<"datasetsList">>> {
    return this.send(endpoint("datasetsList"), undefined, {}, query as Record<string, string>);
  }

  datasetMeta(query: QueryOf<"datasetsMeta">): Promise<Reply<ResponseOf<"datasetsMeta">>> {
    return this.send(endpoint("datasetsMeta"), undefined, {}, query as Record<string, string>);
  }

  deleteDatasetFile(query: QueryOf<"datasetsDeleteFile">): Promise<Reply<ResponseOf<"datasetsDeleteFile">>> {
    return this.send(endpoint("datasetsDeleteFile"), undefined, {}, query as Record<string, string>);
  }

  clearDataset(query: QueryOf<"datasetsClear">): Promise<Reply<ResponseOf<"datasetsClear">>> {
    return this.send(endpoint("datasetsClear"), undefined, {}, query as Record<string, string>);
  }

  state(query: QueryOf<"state">): Promise<Reply<ResponseOf<"state">>> {
    return this.send(endpoint("state"), undefined, {}, query as Record<string, string>);
  }

  manifest(query: QueryOf<"manifest">): Promise<Reply<ResponseOf<"manifest">>> {
    return this.send(endpoint("manifest"), undefined, {}, query as Record<string, string>);
  }

  /** GET /datasets/file, following its redirect: the image's bytes and Content-Type, or the error. */
  async datasetFile(query: QueryOf<"datasetsFile">): Promise<{ status: number; contentType: string | null; bytes: Uint8Array; error?: ErrorBody }> {
    const response = await fetch(`${this.baseUrl}/${endpoints.datasetsFile.path}?${new URLSearchParams(query as Record<string, string>).toString()}`, {
      headers: this.commonHeaders(),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (response.status === 200) return { status: 200, contentType: response.headers.get("content-type"), bytes };
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      bytes,
      error: JSON.parse(new TextDecoder().decode(bytes)) as ErrorBody,
    };
  }

  /** GET /datasets/file?redirect=false: the short-lived link to the image's bytes, as JSON (for a browser's <img>). */
  datasetFileLink(query: QueryOf<"datasetsMeta">): Promise<Reply<ResponseOf<"datasetsFile">>> {
    return this.send(endpoint("datasetsFile"), undefined, {}, { ...(query as Record<string, string>), redirect: "false" });
  }

  inferDataset(body: QueryOf<"inferDataset">): Promise<Reply<ResponseOf<"inferDataset">>> {
    return this.send(endpoint("inferDataset"), JSON.stringify(body), { "Content-Type": "application/json" });
  }

  calibrateDataset(body: QueryOf<"calibrateDataset">): Promise<Reply<ResponseOf<"calibrateDataset">>> {
    return this.send(endpoint("calibrateDataset"), JSON.stringify(body), { "Content-Type": "application/json" });
  }

  listModels(query: QueryOf<"listModels">): Promise<Reply<ResponseOf<"listModels">>> {
    return this.send(endpoint("listModels"), undefined, {}, query as Record<string, string>);
  }

  activateModel(body: QueryOf<"activateModel">): Promise<Reply<ResponseOf<"activateModel">>> {
    return this.send(endpoint("activateModel"), JSON.stringify(body), { "Content-Type": "application/json" });
  }

  deleteModelVersion(query: Omit<QueryOf<"deleteModelVersion">, "version"> & { version: number }): Promise<Reply<ResponseOf<"deleteModelVersion">>> {
    return this.send(endpoint("deleteModelVersion"), undefined, {}, Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])));
  }

  getJob(id: string): Promise<Reply<ResponseOf<"getJob">>> {
    return this.send({ ...endpoint("getJob"), path: `jobs/${encodeURIComponent(id)}` }, undefined, {});
  }

  /**
   * Polls GET /jobs/{id} every `intervalMs` until the job is done or failed (or `timeoutMs`
   * passes); `onProgress` sees each state. A poll that fails transiently (429, 502, 503, 504, or no
   * answer at all) is retried, up to `maxTransientInARow` (20) in a row, each reported to
   * `onTransient`: one lost poll must not lose a job that is still running.
   */
  async waitForJob(
    id: string,
    options: {
      intervalMs?: number;
      timeoutMs?: number;
      maxTransientInARow?: number;
      onProgress?: (job: ResponseOf<"getJob">) => void;
      onTransient?: (why: string) => void;
    } = {},
  ): Promise<ResponseOf<"getJob">> {
    const timeoutMs = options.timeoutMs ?? 15 * 60_000;
    const deadline = Date.now() + timeoutMs;
    const maxInARow = options.maxTransientInARow ?? 20;
    let inARow = 0;
    for (;;) {
      // fetch rejects with a TypeError when no answer came (connection refused or reset, DNS);
      // anything else thrown (an answer that breaks the contract) is not retried
      const reply = await this.getJob(id).catch((error: unknown) => {
        if (error instanceof TypeError) return error;
        throw error;
      });
      const transient =
        reply instanceof Error ? `no answer: ${reply.message}` : TRANSIENT_STATUSES.has(reply.status) ? `HTTP ${reply.status}: ${reply.error().error}` : null;
      if (transient !== null && inARow < maxInARow) {
        inARow++;
        options.onTransient?.(transient);
      } else {
        if (reply instanceof Error) throw reply;
        const job = reply.ok();
        inARow = 0;
        options.onProgress?.(job);
        if (job.state === "done" || job.state === "failed") return job;
      }
      if (Date.now() > deadline) throw new Error(`job ${id} not finished after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1000));
    }
  }

  private commonHeaders(): Record<string, string> {
    return { ...(this.options.apiKey ? { "x-api-key": this.options.apiKey } : {}), ...this.options.headers };
  }

  private form(fields: Record<string, TextValue>, files: readonly [string, ImageFile][]): FormData {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined && value !== null) form.append(name, String(value));
    }
    for (const [name, file] of files) form.append(name, new Blob([new Uint8Array(file.data)], { type: mediaTypeOf(file) }), file.filename);
    return form;
  }

  /** Checks an answer's body (InspectionClient: against the contract's schema); throws when it breaks it. */
  protected check(_route: EndpointName, _status: number, _body: unknown): void {}

  private async send<T>(
    spec: Call,
    body: FormData | string | undefined,
    headers: Record<string, string>,
    query: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const search = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null)).toString();
    const response = await fetch(`${this.baseUrl}/${spec.path}${search ? `?${search}` : ""}`, {
      method: spec.method,
      headers: { ...this.commonHeaders(), ...headers },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${spec.method} /${spec.path}: HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
    }
    this.check(spec.key, response.status, parsed);
    return new Reply<T>(response.status, response.headers, parsed as T | ErrorBody);
  }
}
