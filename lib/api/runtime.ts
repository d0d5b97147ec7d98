import { getConfig, type Config } from "../config";
import type { MemoryBank } from "../patchcore/memoryBank";
import type { NearestNeighbourScorer } from "../patchcore/knn/scorer";
import type { Calibration } from "../patchcore/calibration";
import { RevalidatingCache } from "../store/revalidatingCache";
import { S3ModelStore } from "../store/modelStore";
import { createS3Client } from "../store/s3Client";

/** A memory ready to score with: the bank, its scorer, and how it was loaded. */
export interface LoadedModel {
  readonly bank: MemoryBank;
  readonly scorer: NearestNeighbourScorer;
  readonly etag: string;
}

interface Runtime {
  readonly config: Config;
  readonly store: S3ModelStore;
  /** Memory banks (+ scorers) by memory key. */
  readonly models: RevalidatingCache<LoadedModel>;
  /** Calibrations by calibration key (absence is not cached: a first calibration is seen at once). */
  readonly calibrations: RevalidatingCache<Calibration>;
}

let runtime: Runtime | undefined;

/** The container's store and caches, created on first use and reused by every warm request. */
export function getRuntime(): Runtime {
  if (!runtime) {
    const config = getConfig();
    runtime = {
      config,
      store: new S3ModelStore(createS3Client(config.s3), config.s3.bucket),
      models: new RevalidatingCache<LoadedModel>(config.cache.maxBytes, config.cache.ttlMs),
      calibrations: new RevalidatingCache<Calibration>(1024 * 1024, config.cache.ttlMs),
    };
  }
  return runtime;
}
