/**
 * Every environment variable the service reads, with its default, its rule and what it means: the
 * one place each is written. lib/config/index.ts builds the frozen Config from them; serverless.yml's
 * environment and the README's configuration table are checked against this table by
 * test/unit/configSources.test.ts (the README's table is written by `npm run docs:config`).
 */

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a region's area is measured (lib/patchcore/regions.ts says what each means). */
export const AREA_RULES = ["pixels", "contour"] as const;
export type AreaRule = (typeof AREA_RULES)[number];

/** Whether EMF metric lines are written: `auto` = in a Lambda runtime, or locally at LOG_LEVEL=debug. */
export const METRICS_SETTINGS = ["auto", "on", "off"] as const;
export type MetricsSetting = (typeof METRICS_SETTINGS)[number];

export const KNN_BACKEND_SETTINGS = ["auto", "exact", "hnsw", "two_stage"] as const;
export type KnnBackendSetting = (typeof KNN_BACKEND_SETTINGS)[number];

/**
 * Largest raw request body that reaches a Lambda behind API Gateway: the invocation payload limit
 * is 6 MB (6291456 bytes) and a binary body arrives base64-encoded (4/3 larger) inside the event
 * JSON, so about 4.5 MB of raw body, less headroom for the event's other fields.
 */
export const LAMBDA_RAW_BODY_BYTES = 4_400_000;

/** Largest response body Lambda returns through API Gateway (6 MB payload), less room for the headers and the JSON envelope. */
export const LAMBDA_RESPONSE_BYTES = 6_000_000;

export class ConfigError extends Error {
  constructor(variable: string, value: string, expected: string) {
    super(`Invalid configuration: ${variable}=${JSON.stringify(value)}: expected ${expected}`);
    this.name = "ConfigError";
  }
}

/** A variable read earlier in the table (for a default that follows another variable). */
export type Read = (name: string) => unknown;

export interface Variable<T> {
  readonly default: T | ((read: Read) => T);
  /** The README's wording of the default, where the value alone does not say it (computed, or other when deployed). */
  readonly defaultText?: string;
  /** The raw text -> the value, or undefined when it breaks the rule (then ConfigError with `expected`). */
  readonly parse: (raw: string) => T | undefined;
  readonly expected: string;
  readonly doc: string;
  /**
   * serverless.yml's value, where the deployed function is not simply given the deployer's
   * environment or else the default above (`${env:NAME, ''}`): a Lambda-specific value, said in `defaultText`.
   */
  readonly deployed?: string;
}

interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  readonly exclusiveMin?: boolean;
}

function num(def: number, rule: NumberRule, doc: string, extra: Partial<Variable<number>> = {}): Variable<number> {
  const bounds = [rule.min === undefined ? "" : `${rule.exclusiveMin ? ">" : ">="} ${rule.min}`, rule.max === undefined ? "" : `<= ${rule.max}`].filter(
    Boolean,
  );
  return {
    default: def,
    expected: `${rule.integer ? "an integer" : "a number"}${bounds.length ? " " + bounds.join(" and ") : ""}`,
    parse: (raw) => {
      const value = Number(raw);
      const ok =
        Number.isFinite(value) &&
        (!rule.integer || Number.isInteger(value)) &&
        (rule.min === undefined || (rule.exclusiveMin ? value > rule.min : value >= rule.min)) &&
        (rule.max === undefined || value <= rule.max);
      return ok ? value : undefined;
    },
    doc,
    ...extra,
  };
}

function text(def: string | ((read: Read) => string), doc: string, extra: Partial<Variable<string>> = {}): Variable<string> {
  return { default: def, parse: (raw) => raw, expected: "text", doc, ...extra };
}

function matching(def: string, pattern: RegExp, expected: string, doc: string, extra: Partial<Variable<string>> = {}): Variable<string> {
  return { default: def, parse: (raw) => (pattern.test(raw) ? raw : undefined), expected, doc, ...extra };
}

function oneOf<const V extends readonly string[]>(values: V, def: V[number], doc: string): Variable<V[number]> {
  return { default: def, parse: (raw) => values.find((v) => v === raw.toLowerCase()), expected: values.join("|"), doc };
}

function flag(def: boolean | ((read: Read) => boolean), doc: string, extra: Partial<Variable<boolean>> = {}): Variable<boolean> {
  return {
    default: def,
    parse: (raw) => {
      const v = raw.toLowerCase();
      return v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : undefined;
    },
    expected: '"true" or "false"',
    doc,
    ...extra,
  };
}

const HTTP_URL = /^(https?:\/\/\S+)?$/;

/** The variables, in the README's order. */
export const VARIABLES = {
  MODELS_BUCKET: matching("inspection-models", /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "a valid S3 bucket name", "S3 bucket of the model store", {
    defaultText: "`inspection-models` (deployed: `patchcore-inspection-<stage>-models`)",
    deployed: "${self:custom.modelsBucket}",
  }),
  MODELS_PREFIX: matching("models/", /^[^/]/, "a key prefix not starting with /", "key prefix of everything stored (a final / is added if missing)", {
    deployed: "${self:custom.modelsPrefix}",
  }),
  S3_ENDPOINT: matching("", HTTP_URL, "empty or an http(s) URL", "S3-compatible endpoint (LocalStack, s3rver, MinIO); empty = AWS"),
  AWS_REGION: text("us-east-1", "the region the function runs in: set by Lambda; under `npm start`, serverless.yml's region", {
    deployed: "(set by Lambda)",
  }),
  S3_REGION: text((read) => String(read("AWS_REGION")), "the bucket's region", { defaultText: "`AWS_REGION`" }),
  S3_FORCE_PATH_STYLE: flag((read) => read("S3_ENDPOINT") !== "", "path-style bucket addressing", { defaultText: "true when `S3_ENDPOINT` is set" }),
  S3_TIMEOUT_MS: num(5000, { min: 100, max: 20_000, integer: true }, "bound of one S3 call, retries and body included (API Gateway gives a function 29 s), ms"),
  S3_CONNECT_TIMEOUT_MS: num(1000, { min: 10, max: 20_000, integer: true }, "bound of one TCP connect to S3, ms"),
  S3_SOCKET_TIMEOUT_MS: num(2000, { min: 10, max: 20_000, integer: true }, "an S3 attempt silent this long fails (and is retried), ms"),
  S3_MAX_ATTEMPTS: num(3, { min: 1, max: 10, integer: true }, "attempts per S3 call (the SDK's standard retry mode)"),
  MODEL_DIR: text("layers/runtime/models", "folder of the ONNX models and their cards", {
    defaultText: "`layers/runtime/models` (deployed: `/opt/models`, the layer)",
    deployed: "${env:MODEL_DIR, '/opt/models'}",
  }),
  MODEL_NAME: matching("texture-s14", /^[A-Za-z0-9._-]+$/, "a file stem [A-Za-z0-9._-]", "model file stem: `<name>.onnx` and its card `<name>.card.json`", {
    deployed: "${self:custom.modelName}",
  }),
  INPUT_SIZE: num(448, { min: 14, max: 2048, integer: true }, "side of the square model input, px (a multiple of the model's patch size)"),
  ORT_THREADS: num(0, { min: 0, max: 64, integer: true }, "onnxruntime intra-op threads; 0 = all cores", {
    defaultText: "0 (deployed: 2, the 2 vCPUs of 3538 MB, where onnxruntime would count the host's cores)",
    deployed: "${env:ORT_THREADS, '2'}",
  }),
  CORESET_RATE: num(0.02, { min: 0, max: 1, exclusiveMin: true }, "fraction of patch embeddings kept in the memory bank"),
  CORESET_SEED: num(0, { min: 0, max: 2 ** 32 - 1, integer: true }, "k-center greedy's first pick"),
  CORESET_OVERSAMPLE: num(4, { min: 1, max: 100 }, "a dataset fit's worker keeps `CORESET_RATE` x this of its chunk (the chunked coreset's first stage)"),
  FIT_BATCH_SIZE: num(4, { min: 1, max: 64, integer: true }, "images per ONNX run, in fits and in batch scoring (`npm run bench -- --only extraction`)"),
  SCORE_PERCENTILE: num(99, { min: 0, max: 100 }, "percentile of the anomaly map used as the image score"),
  AREA_MM2_THR: num(1.0, { min: 0 }, "smallest defect region reported, mm²"),
  BLUR_SIGMA: num(1, { min: 0, max: 50 }, "Gaussian blur of the anomaly map, ROI px (kernel `max(3, 2*round(3*sigma)+1)` taps)"),
  AREA_RULE: oneOf(AREA_RULES, "pixels", "how region areas are measured unless the recipe says: `pixels`, or `contour` (the old backend's)"),
  KNN_BACKEND: oneOf(
    KNN_BACKEND_SETTINGS,
    "auto",
    "nearest-neighbour search: `auto` (exact, or the two-stage search on large wide banks), `exact`, `two_stage`, `hnsw` (an index built at fit)",
  ),
  HNSW_EF_SEARCH: num(64, { min: 1, max: 10000, integer: true }, "HNSW search breadth (`KNN_BACKEND=hnsw`)"),
  HNSW_MAX_ROWS: num(5000, { min: 0, integer: true }, "largest bank that gets an HNSW index at fit (`KNN_BACKEND=hnsw`)"),
  MAX_IMAGE_PIXELS: num(4096 * 4096, { min: 1, integer: true }, "largest decoded image, width x height (decompression-bomb guard)"),
  MAX_FILES: num(64, { min: 1, integer: true }, "files per multipart request"),
  MAX_FILE_BYTES: num(LAMBDA_RAW_BODY_BYTES, { min: 1, integer: true }, "bytes per uploaded file"),
  MAX_UPLOAD_BYTES: num(
    64 * 1024 * 1024,
    { min: 1, integer: true },
    "bytes per direct upload (presigned PUT), checked at the commit before it is read (8 are read at once)",
  ),
  MAX_REQUEST_BYTES: num(
    LAMBDA_RAW_BODY_BYTES,
    { min: 1, integer: true },
    "bytes per request body (Lambda's 6 MB payload carries a binary body base64-encoded)",
  ),
  MAX_REQUEST_PIXELS: num(64 * 1024 * 1024, { min: 1, integer: true }, "decoded pixels of all images of one request (a fit's memory bound)"),
  MAX_RESPONSE_BYTES: num(LAMBDA_RESPONSE_BYTES, { min: 1024, integer: true }, "largest JSON answer (Lambda's 6 MB payload)"),
  MAX_MODEL_VERSIONS: num(
    20,
    { min: 1, max: 1000, integer: true },
    "versions kept per model: a fit beyond it deletes the oldest that is neither active, the one active before it, nor the active one's parent",
  ),
  CACHE_MAX_BYTES: num(512 * 1024 * 1024, { min: 0, integer: true }, "per-container cache of memories, bytes"),
  CACHE_TTL_MS: num(5000, { min: 0, integer: true }, "a cached memory or calibration costs one HEAD (ETag) before reuse after this, ms"),
  STALE_IF_ERROR_MS: num(
    10 * 60 * 1000,
    { min: 0, integer: true },
    "while S3 is unreachable, a cached memory confirmed within this is still served (`memory_stale: true`), ms",
  ),
  LAMBDA_ENDPOINT: matching(
    "",
    HTTP_URL,
    "empty or an http(s) URL",
    "where coordinators invoke workers; empty = AWS Lambda (`npm start`: serverless-offline's)",
  ),
  WORKER_FUNCTION: text("patchcore-inspection-dev-worker", "the fan-out worker function", { deployed: "${self:service}-${sls:stage}-worker" }),
  JOB_RUNNER_FUNCTION: text("patchcore-inspection-dev-jobRunner", "the job runner function", { deployed: "${self:service}-${sls:stage}-jobRunner" }),
  JOB_RUNNER_TIMEOUT_S: num(
    900,
    { min: 1, max: 900, integer: true },
    "the job runner's timeout, s: a job still queued or running a minute past it is reported failed (code time_budget)",
    { deployed: "${self:functions.jobRunner.timeout}" },
  ),
  FIT_CHUNK_IMAGES: num(8, { min: 1, max: 200, integer: true }, "images per worker invocation of a dataset fit"),
  SCORE_CHUNK_IMAGES: num(10, { min: 1, max: 500, integer: true }, "images per worker invocation of batch scoring"),
  FANOUT_WIDTH: num(32, { min: 1, max: 1000, integer: true }, "worker invocations at once per fit or batch (the Lambda concurrency one job may take)"),
  SYNC_BUDGET_MS: num(20_000, { min: 0, integer: true }, "a dataset fit or batch estimated over this becomes a job (202), ms"),
  IMAGE_ESTIMATE_MS: num(350, { min: 1, integer: true }, "that estimate's cost of one image on a worker, ms"),
  INVOKE_OVERHEAD_MS: num(400, { min: 0, integer: true }, "that estimate's cost of one worker invocation, ms"),
  LOG_LEVEL: oneOf(LOG_LEVELS, "info", "`debug`, `info`, `warn`, `error` or `silent`"),
  LOG_DEBUG_SAMPLE_RATE: num(0, { min: 0, max: 1 }, "share of invocations logged at `debug` whatever `LOG_LEVEL` says (Powertools' debug sampling), 0..1"),
  SERVICE_NAME: matching(
    "patchcore-inspection-dev",
    /^[\x21-\x7e]{1,255}$/,
    "printable ASCII, no spaces",
    "the `service` of every log line, metric and trace",
    {
      defaultText: "`patchcore-inspection-dev` (deployed: `patchcore-inspection-<stage>`, so stages sharing an account stay apart)",
      deployed: "${self:service}-${sls:stage}",
    },
  ),
  METRICS: oneOf(
    METRICS_SETTINGS,
    "auto",
    'EMF metric lines on stdout ("Operating it"): `on`, `off`, or `auto`: in a Lambda runtime (`AWS_EXECUTION_ENV` set), and elsewhere only at `LOG_LEVEL=debug`',
  ),
  METRICS_PER_ROI: flag(false, 'the line\'s metrics also per role and ROI (a custom metric per ROI: see "Operating it" for the cost)', {
    defaultText: "`false` (deployed: the stage's `metricsPerRoi`)",
    deployed: "${param:metricsPerRoi}",
  }),
  DRIFT_LEVEL: num(
    0.8,
    { min: 0, exclusiveMin: true },
    "`OverDriftLevel` is 1 for an inspection whose score / threshold exceeds this (the drift alarm's level)",
    {
      defaultText: "`0.8` (deployed: the stage's `driftLevel`)",
      deployed: "${param:driftLevel}",
    },
  ),
  AWS_EXECUTION_ENV: text("", "set by Lambda (e.g. `AWS_Lambda_nodejs22.x`): a Lambda runtime, for `METRICS=auto` and X-Ray", { deployed: "(set by Lambda)" }),
} satisfies Record<string, Variable<unknown>>;

export type VariableName = keyof typeof VARIABLES;
export type Values = { readonly [N in VariableName]: (typeof VARIABLES)[N] extends Variable<infer T> ? T : never };

type Env = Readonly<Record<string, string | undefined>>;

/** Every variable read from `env` (trimmed; unset or empty = its default), in table order; ConfigError names the first bad one. */
export function readVariables(env: Env): Values {
  const values: Record<string, unknown> = {};
  const read: Read = (name) => values[name];
  for (const [name, variable] of Object.entries(VARIABLES) as [string, Variable<unknown>][]) {
    const raw = env[name]?.trim() ?? "";
    if (raw === "") {
      values[name] = typeof variable.default === "function" ? (variable.default as (read: Read) => unknown)(read) : variable.default;
      continue;
    }
    const value = variable.parse(raw);
    if (value === undefined) throw new ConfigError(name, raw, variable.expected);
    values[name] = value;
  }
  return values as Values;
}

/** A variable's default as the README states it. */
export function defaultText(variable: Variable<unknown>): string {
  if (variable.defaultText) return variable.defaultText;
  return variable.default === "" ? "empty" : `\`${String(variable.default)}\``;
}

/** The README's configuration table, made from the variables. */
export function configurationTable(): string {
  const rows = (Object.entries(VARIABLES) as [string, Variable<unknown>][]).map(([name, v]) => `| \`${name}\` | ${defaultText(v)} | ${v.doc} |`);
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}
