import path from "node:path";
import { version as PACKAGE_VERSION } from "../package.json";
import { AREA_RULES, type AreaRule } from "./patchcore/regions";

/**
 * Service configuration, read once from environment variables into a frozen object.
 * Defaults are the old Python backend's (input 448, coreset 2 %, score percentile 99,
 * area threshold 1 mm², blur sigma 1 px). A bad value throws ConfigError naming the variable.
 */
export interface Config {
  readonly s3: {
    readonly bucket: string;
    /** Key prefix of every stored artefact, ends with "/". */
    readonly prefix: string;
    /** Empty = AWS's own endpoint for the region. */
    readonly endpoint: string;
    readonly region: string;
    readonly forcePathStyle: boolean;
    /**
     * Bound of one S3 call in ms, every attempt, backoff and the transfer of the body included:
     * past it the call fails (a 503 for the client), well inside the function's timeout.
     */
    readonly timeoutMs: number;
    /** TCP connect bound of one attempt, in ms. */
    readonly connectTimeoutMs: number;
    /** An attempt that sends or receives nothing for this long fails (then is retried), in ms. */
    readonly socketTimeoutMs: number;
    /** Attempts per S3 call (the SDK's standard retry mode: first try + retries). */
    readonly maxAttempts: number;
  };
  readonly model: {
    /** Folder holding `<name>.onnx` and `<name>.card.json` (`/opt/models` in the Lambda layer). */
    readonly dir: string;
    readonly name: string;
    readonly onnxPath: string;
    readonly cardPath: string;
    /** Side of the square model input in pixels; must be a multiple of the card's patch size. */
    readonly inputSize: number;
    /** onnxruntime intra-op threads; 0 = onnxruntime's default (all cores). */
    readonly ortThreads: number;
  };
  readonly patchcore: {
    readonly coresetRate: number;
    readonly scorePercentile: number;
    readonly areaMm2Threshold: number;
    /** Gaussian blur sigma in ROI pixels applied to the anomaly map. */
    readonly blurSigma: number;
    readonly seed: number;
    /** Images per ONNX run when fitting and in batch scoring (single /infer runs one). */
    readonly fitBatchSize: number;
    /** How a region's area is measured unless its recipe says otherwise (see lib/patchcore/regions.ts). */
    readonly areaRule: AreaRule;
  };
  readonly knn: {
    /** "auto" = the measured choice by bank size (see lib/patchcore/knn/select.ts); "exact" and "two_stage" force one search; "hnsw" needs the stored index. */
    readonly backend: KnnBackendSetting;
    readonly hnswEfSearch: number;
    /** Banks with more rows get no HNSW index at fit (its build time grows to many seconds). */
    readonly hnswMaxRows: number;
  };
  readonly limits: {
    /** Largest decoded image, width x height, accepted (decompression-bomb guard). */
    readonly maxImagePixels: number;
    readonly maxFiles: number;
    /** Bytes of one uploaded file. */
    readonly maxFileBytes: number;
    /** Bytes of one whole request body. */
    readonly maxRequestBytes: number;
    /** Decoded pixels (width x height, summed over its images) one request may bring: bounds a fit's memory. */
    readonly maxRequestPixels: number;
    /** Largest JSON response: Lambda answers a bare 502 above 6 MB (6291456 bytes). */
    readonly maxResponseBytes: number;
  };
  readonly cache: {
    readonly maxBytes: number;
    /** How long a cached memory is trusted before its ETag is checked again, in ms. */
    readonly ttlMs: number;
    /** While S3 is unreachable, a cached memory confirmed less than this long ago is still served (flagged stale), in ms. */
    readonly staleIfErrorMs: number;
  };
  /** Fan-out of dataset fits and batch scoring over worker Lambda invocations (lib/jobs). */
  readonly jobs: {
    /** Empty = AWS Lambda; locally serverless-offline's Lambda endpoint (http://127.0.0.1:<LAMBDA_PORT>). */
    readonly lambdaEndpoint: string;
    readonly workerFunction: string;
    readonly jobRunnerFunction: string;
    /** Images per worker invocation of a dataset fit (each worker embeds them and reduces them to a partial coreset). */
    readonly fitChunkImages: number;
    /** Images per worker invocation of batch scoring. */
    readonly scoreChunkImages: number;
    /** Worker invocations running at once per job. */
    readonly fanOutWidth: number;
    /** Stage 1 of a two-stage coreset keeps rate x this of each chunk. */
    readonly coresetOversample: number;
    /** A dataset fit or batch whose estimate fits this answers synchronously (200); a larger one becomes a job (202). */
    readonly syncBudgetMs: number;
    /** Estimated forward + decode time of one image on a worker, ms (for that estimate). */
    readonly imageEstimateMs: number;
    /** Estimated overhead of one worker invocation, ms. */
    readonly invokeOverheadMs: number;
    /** Test hook: "embed|score:<chunk>:once|always[,...]" makes those workers fail; empty in production. */
    readonly workerFault: string;
  };
  readonly logLevel: LogLevel;
  readonly version: string;
}

export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
/**
 * Largest raw request body that reaches a Lambda behind API Gateway: the invocation payload limit
 * is 6 MB (6291456 bytes) and a binary body arrives base64-encoded (4/3 larger) inside the event
 * JSON, so about 4.5 MB of raw body, less headroom for the event's other fields.
 */
export const LAMBDA_RAW_BODY_BYTES = 4_400_000;

/** Largest response body Lambda returns through API Gateway (6 MB payload), less room for the headers and the JSON envelope. */
export const LAMBDA_RESPONSE_BYTES = 6_000_000;

export const KNN_BACKEND_SETTINGS = ["auto", "exact", "hnsw", "two_stage"] as const;
export type KnnBackendSetting = (typeof KNN_BACKEND_SETTINGS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(variable: string, value: string, expected: string) {
    super(`Invalid configuration: ${variable}=${JSON.stringify(value)}: expected ${expected}`);
    this.name = "ConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function text(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw.trim() === "" ? fallback : raw.trim();
}

function number(env: Env, name: string, fallback: number, check: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean }): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw.trim());
  const bounds = [check.min === undefined ? "" : `${check.exclusiveMin ? ">" : ">="} ${check.min}`, check.max === undefined ? "" : `<= ${check.max}`].filter(
    Boolean,
  );
  const expected = `${check.integer ? "an integer" : "a number"}${bounds.length ? " " + bounds.join(" and ") : ""}`;
  const ok =
    Number.isFinite(value) &&
    (!check.integer || Number.isInteger(value)) &&
    (check.min === undefined || (check.exclusiveMin ? value > check.min : value >= check.min)) &&
    (check.max === undefined || value <= check.max);
  if (!ok) throw new ConfigError(name, raw, expected);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const v = raw.trim().toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new ConfigError(name, raw, '"true" or "false"');
}

function workerFault(env: Env): string {
  const value = text(env, "WORKER_FAULT", "");
  if (value !== "" && !/^(embed|score):\d+:(once|always)(,(embed|score):\d+:(once|always))*$/.test(value)) {
    throw new ConfigError("WORKER_FAULT", value, "empty, or <embed|score>:<chunk>:<once|always>[,...] (tests only)");
  }
  return value;
}

/** Builds a Config from an environment; pure, so tests pass their own. */
export function loadConfig(env: Env = process.env): Config {
  const endpoint = text(env, "S3_ENDPOINT", "");
  if (endpoint !== "" && !/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new ConfigError("S3_ENDPOINT", endpoint, "empty or an http(s) URL");
  }
  let prefix = text(env, "MODELS_PREFIX", "models/");
  if (!prefix.endsWith("/")) prefix += "/";
  if (prefix.startsWith("/")) throw new ConfigError("MODELS_PREFIX", prefix, "a key prefix not starting with /");
  const bucket = text(env, "MODELS_BUCKET", "inspection-models");
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError("MODELS_BUCKET", bucket, "a valid S3 bucket name");
  }

  const dir = path.resolve(text(env, "MODEL_DIR", "layers/runtime/models"));
  const name = text(env, "MODEL_NAME", "texture-s14");
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new ConfigError("MODEL_NAME", name, "a file stem [A-Za-z0-9._-]");

  const logLevel = text(env, "LOG_LEVEL", "info").toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", logLevel, LOG_LEVELS.join("|"));
  }

  const areaRule = text(env, "AREA_RULE", "pixels").toLowerCase();
  if (!(AREA_RULES as readonly string[]).includes(areaRule)) throw new ConfigError("AREA_RULE", areaRule, AREA_RULES.join("|"));

  const knnBackend = text(env, "KNN_BACKEND", "auto").toLowerCase();
  if (!(KNN_BACKEND_SETTINGS as readonly string[]).includes(knnBackend)) {
    throw new ConfigError("KNN_BACKEND", knnBackend, KNN_BACKEND_SETTINGS.join("|"));
  }

  const config: Config = {
    s3: {
      bucket,
      prefix,
      endpoint,
      region: text(env, "S3_REGION", text(env, "AWS_REGION", "us-east-1")),
      forcePathStyle: bool(env, "S3_FORCE_PATH_STYLE", endpoint !== ""),
      // API Gateway gives a function 29 s: an S3 call may never use most of it.
      timeoutMs: number(env, "S3_TIMEOUT_MS", 5000, { min: 100, max: 20_000, integer: true }),
      connectTimeoutMs: number(env, "S3_CONNECT_TIMEOUT_MS", 1000, { min: 10, max: 20_000, integer: true }),
      socketTimeoutMs: number(env, "S3_SOCKET_TIMEOUT_MS", 2000, { min: 10, max: 20_000, integer: true }),
      maxAttempts: number(env, "S3_MAX_ATTEMPTS", 3, { min: 1, max: 10, integer: true }),
    },
    model: {
      dir,
      name,
      onnxPath: path.join(dir, `${name}.onnx`),
      cardPath: path.join(dir, `${name}.card.json`),
      inputSize: number(env, "INPUT_SIZE", 448, { min: 14, max: 2048, integer: true }),
      ortThreads: number(env, "ORT_THREADS", 0, { min: 0, max: 64, integer: true }),
    },
    patchcore: {
      coresetRate: number(env, "CORESET_RATE", 0.02, { min: 0, max: 1, exclusiveMin: true }),
      scorePercentile: number(env, "SCORE_PERCENTILE", 99, { min: 0, max: 100 }),
      areaMm2Threshold: number(env, "AREA_MM2_THR", 1.0, { min: 0 }),
      blurSigma: number(env, "BLUR_SIGMA", 1, { min: 0, max: 50 }),
      seed: number(env, "CORESET_SEED", 0, { min: 0, max: 2 ** 32 - 1, integer: true }),
      fitBatchSize: number(env, "FIT_BATCH_SIZE", 4, { min: 1, max: 64, integer: true }),
      areaRule: areaRule as AreaRule,
    },
    knn: {
      backend: knnBackend as KnnBackendSetting,
      hnswEfSearch: number(env, "HNSW_EF_SEARCH", 64, { min: 1, max: 10000, integer: true }),
      hnswMaxRows: number(env, "HNSW_MAX_ROWS", 5000, { min: 0, integer: true }),
    },
    limits: {
      maxImagePixels: number(env, "MAX_IMAGE_PIXELS", 4096 * 4096, { min: 1, integer: true }),
      maxFiles: number(env, "MAX_FILES", 64, { min: 1, integer: true }),
      maxFileBytes: number(env, "MAX_FILE_BYTES", LAMBDA_RAW_BODY_BYTES, { min: 1, integer: true }),
      maxRequestBytes: number(env, "MAX_REQUEST_BYTES", LAMBDA_RAW_BODY_BYTES, { min: 1, integer: true }),
      maxRequestPixels: number(env, "MAX_REQUEST_PIXELS", 64 * 1024 * 1024, { min: 1, integer: true }),
      maxResponseBytes: number(env, "MAX_RESPONSE_BYTES", LAMBDA_RESPONSE_BYTES, { min: 1024, integer: true }),
    },
    cache: {
      maxBytes: number(env, "CACHE_MAX_BYTES", 512 * 1024 * 1024, { min: 0, integer: true }),
      ttlMs: number(env, "CACHE_TTL_MS", 5000, { min: 0, integer: true }),
      staleIfErrorMs: number(env, "STALE_IF_ERROR_MS", 10 * 60 * 1000, { min: 0, integer: true }),
    },
    jobs: {
      lambdaEndpoint: text(env, "LAMBDA_ENDPOINT", ""),
      workerFunction: text(env, "WORKER_FUNCTION", "patchcore-inspection-dev-worker"),
      jobRunnerFunction: text(env, "JOB_RUNNER_FUNCTION", "patchcore-inspection-dev-jobRunner"),
      fitChunkImages: number(env, "FIT_CHUNK_IMAGES", 8, { min: 1, max: 200, integer: true }),
      scoreChunkImages: number(env, "SCORE_CHUNK_IMAGES", 10, { min: 1, max: 500, integer: true }),
      fanOutWidth: number(env, "FANOUT_WIDTH", 32, { min: 1, max: 1000, integer: true }),
      coresetOversample: number(env, "CORESET_OVERSAMPLE", 4, { min: 1, max: 100 }),
      syncBudgetMs: number(env, "SYNC_BUDGET_MS", 20_000, { min: 0, integer: true }),
      imageEstimateMs: number(env, "IMAGE_ESTIMATE_MS", 350, { min: 1, integer: true }),
      invokeOverheadMs: number(env, "INVOKE_OVERHEAD_MS", 400, { min: 0, integer: true }),
      workerFault: workerFault(env),
    },
    logLevel: logLevel as LogLevel,
    version: PACKAGE_VERSION,
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === "object") deepFreeze(child as object);
  }
  return Object.freeze(value);
}
