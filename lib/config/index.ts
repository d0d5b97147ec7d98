import path from "node:path";
import { version as PACKAGE_VERSION } from "../../package.json";
import { readVariables, type AreaRule, type KnnBackendSetting, type LogLevel } from "./variables";

export * from "./variables";

/** What one request may bring and get back (multipart limits, pixels, the answer's size). */
export interface LimitsConfig {
  /** Largest decoded image, width x height, accepted (decompression-bomb guard). */
  readonly maxImagePixels: number;
  readonly maxFiles: number;
  /** Bytes of one uploaded file. */
  readonly maxFileBytes: number;
  /** Bytes per direct upload (presigned PUT), checked at the commit before it is read. */
  readonly maxUploadBytes: number;
  /** Bytes of one whole request body. */
  readonly maxRequestBytes: number;
  /** Decoded pixels (width x height, summed over its images) one request may bring: bounds a fit's memory. */
  readonly maxRequestPixels: number;
  /** Largest JSON response: Lambda answers a bare 502 above 6 MB (6291456 bytes). */
  readonly maxResponseBytes: number;
}

/**
 * Service configuration, read once from environment variables (lib/config/variables.ts: each with
 * its default and rule) into a frozen object. Defaults are the old Python backend's (input 448,
 * coreset 2 %, score percentile 99, area threshold 1 mm², blur sigma 1 px). A bad value throws
 * ConfigError naming the variable.
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
    /** Images per ONNX run when fitting and in batch scoring (single /infer runs one); env FIT_BATCH_SIZE. */
    readonly forwardBatchSize: number;
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
  readonly limits: LimitsConfig;
  readonly models: {
    /** Versions kept per model; a fit beyond it deletes the oldest that is neither active nor the active one's parent. */
    readonly maxVersions: number;
  };
  readonly cache: {
    readonly maxBytes: number;
    /** How long a cached memory is trusted before its ETag is checked again, in ms. */
    readonly ttlMs: number;
    /** While S3 is unreachable, a cached memory confirmed less than this long ago is still served (flagged stale), in ms. */
    readonly staleIfErrorMs: number;
  };
  /** Fan-out of dataset fits and batch scoring over worker Lambda invocations (lib/jobs). */
  readonly fanOut: {
    /** Empty = AWS Lambda; locally serverless-offline's Lambda endpoint (http://127.0.0.1:<LAMBDA_PORT>). */
    readonly lambdaEndpoint: string;
    readonly workerFunction: string;
    readonly jobRunnerFunction: string;
    /** The job runner's timeout (s): a job queued or running a minute past it is reported failed. */
    readonly jobRunnerTimeoutS: number;
    /** Images per worker invocation of a dataset fit (each worker embeds them and reduces them to a partial coreset). */
    readonly fitChunkImages: number;
    /** Images per worker invocation of batch scoring. */
    readonly scoreChunkImages: number;
    /** Worker invocations running at once per job. */
    readonly width: number;
    /** Stage 1 of a two-stage coreset keeps rate x this of each chunk. */
    readonly coresetOversample: number;
    /** A dataset fit or batch whose estimate fits this answers synchronously (200); a larger one becomes a job (202). */
    readonly syncBudgetMs: number;
    /** Estimated forward + decode time of one image on a worker, ms (for that estimate). */
    readonly imageEstimateMs: number;
    /** Estimated overhead of one worker invocation, ms. */
    readonly invokeOverheadMs: number;
  };
  readonly logLevel: LogLevel;
  /** Logs, metrics and traces ("Operating it" in the README). */
  readonly observability: {
    /** The `service` of every log line, metric and trace. */
    readonly service: string;
    /** Share of invocations logged at debug level whatever logLevel says. */
    readonly debugSampleRate: number;
    /** EMF metric lines written (METRICS, `auto` resolved). */
    readonly metrics: boolean;
    /** The line's metrics also per role and ROI. */
    readonly metricsPerRoi: boolean;
    /** OverDriftLevel's level: score / threshold above it counts towards the drift alarm. */
    readonly driftLevel: number;
  };
  readonly version: string;
}

/** Builds a Config from an environment; pure, so tests pass their own. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const v = readVariables(env);
  const dir = path.resolve(v.MODEL_DIR);
  const config: Config = {
    s3: {
      bucket: v.MODELS_BUCKET,
      prefix: v.MODELS_PREFIX.endsWith("/") ? v.MODELS_PREFIX : `${v.MODELS_PREFIX}/`,
      endpoint: v.S3_ENDPOINT,
      region: v.S3_REGION,
      forcePathStyle: v.S3_FORCE_PATH_STYLE,
      timeoutMs: v.S3_TIMEOUT_MS,
      connectTimeoutMs: v.S3_CONNECT_TIMEOUT_MS,
      socketTimeoutMs: v.S3_SOCKET_TIMEOUT_MS,
      maxAttempts: v.S3_MAX_ATTEMPTS,
    },
    model: {
      dir,
      name: v.MODEL_NAME,
      onnxPath: path.join(dir, `${v.MODEL_NAME}.onnx`),
      cardPath: path.join(dir, `${v.MODEL_NAME}.card.json`),
      inputSize: v.INPUT_SIZE,
      ortThreads: v.ORT_THREADS,
    },
    patchcore: {
      coresetRate: v.CORESET_RATE,
      scorePercentile: v.SCORE_PERCENTILE,
      areaMm2Threshold: v.AREA_MM2_THR,
      blurSigma: v.BLUR_SIGMA,
      seed: v.CORESET_SEED,
      forwardBatchSize: v.FIT_BATCH_SIZE,
      areaRule: v.AREA_RULE,
    },
    knn: { backend: v.KNN_BACKEND, hnswEfSearch: v.HNSW_EF_SEARCH, hnswMaxRows: v.HNSW_MAX_ROWS },
    limits: {
      maxImagePixels: v.MAX_IMAGE_PIXELS,
      maxFiles: v.MAX_FILES,
      maxFileBytes: v.MAX_FILE_BYTES,
      maxUploadBytes: v.MAX_UPLOAD_BYTES,
      maxRequestBytes: v.MAX_REQUEST_BYTES,
      maxRequestPixels: v.MAX_REQUEST_PIXELS,
      maxResponseBytes: v.MAX_RESPONSE_BYTES,
    },
    models: { maxVersions: v.MAX_MODEL_VERSIONS },
    cache: { maxBytes: v.CACHE_MAX_BYTES, ttlMs: v.CACHE_TTL_MS, staleIfErrorMs: v.STALE_IF_ERROR_MS },
    fanOut: {
      lambdaEndpoint: v.LAMBDA_ENDPOINT,
      workerFunction: v.WORKER_FUNCTION,
      jobRunnerFunction: v.JOB_RUNNER_FUNCTION,
      jobRunnerTimeoutS: v.JOB_RUNNER_TIMEOUT_S,
      fitChunkImages: v.FIT_CHUNK_IMAGES,
      scoreChunkImages: v.SCORE_CHUNK_IMAGES,
      width: v.FANOUT_WIDTH,
      coresetOversample: v.CORESET_OVERSAMPLE,
      syncBudgetMs: v.SYNC_BUDGET_MS,
      imageEstimateMs: v.IMAGE_ESTIMATE_MS,
      invokeOverheadMs: v.INVOKE_OVERHEAD_MS,
    },
    logLevel: v.LOG_LEVEL,
    observability: {
      service: v.SERVICE_NAME,
      debugSampleRate: v.LOG_DEBUG_SAMPLE_RATE,
      metrics: v.METRICS === "on" || (v.METRICS === "auto" && (v.AWS_EXECUTION_ENV !== "" || v.LOG_LEVEL === "debug")),
      metricsPerRoi: v.METRICS_PER_ROI,
      driftLevel: v.DRIFT_LEVEL,
    },
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
