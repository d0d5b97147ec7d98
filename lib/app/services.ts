import { loadConfig, type Config } from "../config";
import { createBaseServices, type BaseServices } from "./baseServices";
import { DomainError, UnavailableError } from "../errors";
import type { OnnxFeatureExtractor } from "../features/onnxExtractor";
import type { Logger } from "../log";
import type { Observability } from "../observability/invocation";
import type { BlobStore } from "../store/blobStore";
import { CalibrationRepository, type StoredCalibration } from "../store/calibrationRepository";
import { DatasetRepository } from "../store/datasetRepository";
import { JobRepository } from "../store/jobRepository";
import { LambdaInvoker, type WorkerInvoker } from "../jobs/invoker";
import { MemoryRepository } from "../store/memoryRepository";
import { RecipeRepository, type RecipeMeta } from "../store/recipeRepository";
import { RevalidatingCache } from "../store/revalidatingCache";
import { S3BlobStore } from "../store/s3BlobStore";
import { VersionRepository, type ModelVersions } from "../store/versionRepository";
import { createS3Client } from "../store/s3Client";
import type { NearestNeighbourScorer } from "../patchcore/knn/scorer";
import type { MemoryBank } from "../patchcore/memoryBank";

/** A memory ready to score with: the bank, its scorer, and the ETag it was loaded at. */
export interface LoadedMemory {
  readonly bank: MemoryBank;
  readonly scorer: NearestNeighbourScorer;
  readonly etag: string;
}

/**
 * Everything a use case depends on, built once per process by a function's composition root
 * (its module scope, so Lambda's INIT phase pays for it) and passed in explicitly.
 */
export interface Services extends BaseServices {
  /** The container's ONNX feature extractor (one session); a failed load is an UnavailableError and is retried on the next call. */
  readonly extractor: () => Promise<OnnxFeatureExtractor>;
  /** The store itself, for what has no repository of its own (presigned uploads, their clean-up). */
  readonly store: BlobStore;
  readonly memories: MemoryRepository;
  readonly datasets: DatasetRepository;
  readonly jobs: JobRepository;
  /** How fan-outs reach the worker function (the Lambda API). */
  readonly invoker: WorkerInvoker;
  /** Calibration files of models stored before versions (and of a model calibrated before any fit). */
  readonly calibrations: CalibrationRepository;
  /** Each model's versions and which one is active. */
  readonly versions: VersionRepository;
  /** Memory banks (+ scorers) by memory key: a version's never revalidated (immutable), a legacy one by ETag. */
  readonly memoryCache: RevalidatingCache<LoadedMemory>;
  /** Models' versions objects by key, revalidated by ETag (the one mutable object /infer reads of a model). */
  readonly versionCache: RevalidatingCache<ModelVersions>;
  readonly recipes: RecipeRepository;
  /** Recipe settings and locks by key. */
  readonly recipeCache: RevalidatingCache<RecipeMeta>;
  /** Legacy calibration files by key (absence is not cached: a first calibration is seen at once). */
  readonly calibrationCache: RevalidatingCache<StoredCalibration>;
}

export interface ServiceOptions {
  /** Start loading the ONNX model now (functions that run it), rather than on first use. */
  readonly loadModelNow?: boolean;
  /** Another blob store than the configured S3 bucket (unit tests: MemoryBlobStore). */
  readonly blobStore?: BlobStore;
  /** Other logs, metrics and traces than the configuration's (tests capturing them). */
  readonly observability?: Observability;
}

function extractorLoader(config: Config, log: Logger): () => Promise<OnnxFeatureExtractor> {
  let loading: Promise<OnnxFeatureExtractor> | undefined;
  return () => {
    if (!loading) {
      const start = performance.now();
      // imported here, not at module scope: functions that never run the model never load onnxruntime
      loading = import("../features/onnxExtractor")
        .then(({ OnnxFeatureExtractor }) =>
          OnnxFeatureExtractor.load({
            onnxPath: config.model.onnxPath,
            cardPath: config.model.cardPath,
            inputSize: config.model.inputSize,
            threads: config.model.ortThreads,
          }),
        )
        .then(
          (loaded) => {
            log.info("model loaded", { model: loaded.card.id, path: config.model.onnxPath, load_ms: Math.round(performance.now() - start) });
            return loaded;
          },
          (cause: unknown) => {
            loading = undefined;
            log.error("model load failed", { path: config.model.onnxPath, error: cause });
            throw new UnavailableError(`Model ${config.model.name} could not be loaded; see the service logs`, { cause });
          },
        );
    }
    return loading;
  };
}

/**
 * The composition root's work: configuration parsed (a bad value throws ConfigError naming the
 * variable, so a misconfigured function fails its INIT loudly), logs, metrics and traces, store
 * (its S3 client traced), repositories, caches, and the ONNX session's load started.
 */
export function createServices(config: Config = loadConfig(process.env), options: ServiceOptions = {}): Services {
  const base = createBaseServices(config, options.observability);
  const { log } = base;
  const { tracing } = base.observability;
  const store = options.blobStore ?? new S3BlobStore(tracing.capture(createS3Client(config.s3)), config.s3.bucket);
  const extractor = extractorLoader(config, log);
  if (options.loadModelNow) extractor().catch(() => undefined); // logged above; retried by the first request
  let invoker: WorkerInvoker | undefined;
  const staleIfError = { maxMs: config.cache.staleIfErrorMs, when: (error: unknown) => error instanceof DomainError && error.code === "unavailable" };
  const services: Services = {
    ...base,
    extractor,
    store,
    memories: new MemoryRepository(store),
    datasets: new DatasetRepository(store, config.s3.prefix),
    jobs: new JobRepository(store, config.s3.prefix),
    get invoker(): WorkerInvoker {
      invoker ??= new LambdaInvoker(config.fanOut, config.s3.region, (client) => tracing.capture(client));
      return invoker;
    },
    calibrations: new CalibrationRepository(store),
    versions: new VersionRepository(store),
    versionCache: new RevalidatingCache<ModelVersions>(4 * 1024 * 1024, config.cache.ttlMs, Date.now, staleIfError),
    recipes: new RecipeRepository(store, config.s3.prefix),
    recipeCache: new RevalidatingCache<RecipeMeta>(1024 * 1024, config.cache.ttlMs, Date.now, staleIfError),
    memoryCache: new RevalidatingCache<LoadedMemory>(config.cache.maxBytes, config.cache.ttlMs, Date.now, staleIfError),
    calibrationCache: new RevalidatingCache<StoredCalibration>(1024 * 1024, config.cache.ttlMs, Date.now, staleIfError),
  };
  return services;
}
