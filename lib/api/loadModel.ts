import type { Logger } from "../log";
import { ExactScorer } from "../patchcore/knn/exact";
import { HnswScorer } from "../patchcore/knn/hnsw";
import { chooseBackend } from "../patchcore/knn/select";
import type { NearestNeighbourScorer } from "../patchcore/knn/scorer";
import type { MemoryBank } from "../patchcore/memoryBank";
import type { Calibration } from "../patchcore/calibration";
import type { ModelKeys } from "../store/keys";
import type { Timings } from "../util/timings";
import { getRuntime, type LoadedModel } from "./runtime";

/**
 * The scorer for a bank: exact unless configured otherwise (see knn/select.ts). An HNSW index is
 * used only when it was written by the same fit as the memory (fit-id tag == memory's fit_id);
 * any other index is ignored and the memory is scored exactly.
 */
async function scorerFor(bank: MemoryBank, keys: ModelKeys, timings: Timings, log: Logger): Promise<NearestNeighbourScorer> {
  const { config, store } = getRuntime();
  if (chooseBackend(config.knn.backend) === "hnsw") {
    const index = await store.get(keys.index, timings);
    const fitId = String(bank.metadata.fit_id ?? "");
    if (index && fitId !== "" && index.metadata["fit-id"] === fitId) {
      return timings.time("index_load", () => HnswScorer.load(index.body, bank.dim, config.knn.hnswEfSearch));
    }
    log.warn("HNSW index missing or from another fit: scoring exactly", { key: keys.index, memory_fit_id: fitId, index_fit_id: index?.metadata["fit-id"] });
  }
  return new ExactScorer(bank, config.model.ortThreads);
}

/** The memory of `keys` through the container cache, or null if none is stored. */
export async function loadModel(keys: ModelKeys, timings: Timings, log: Logger): Promise<LoadedModel | null> {
  const { store, models } = getRuntime();
  const { value, outcome } = await models.get(keys.memory, {
    etag: async () => (await store.head(keys.memory, timings))?.etag ?? null,
    load: async () => {
      const stored = await store.loadMemory(keys, timings);
      if (!stored) return null;
      const scorer = await scorerFor(stored.bank, keys, timings, log);
      return { value: { bank: stored.bank, scorer, etag: stored.etag }, etag: stored.etag, bytes: stored.bank.embeddings.byteLength };
    },
  });
  log.debug("memory", { key: keys.memory, cache: outcome });
  return value;
}

/** The calibration of `keys` through the container cache, or null before /calibrate_ng. */
export async function loadCalibration(keys: ModelKeys, timings: Timings): Promise<Calibration | null> {
  const { store, calibrations } = getRuntime();
  const { value } = await calibrations.get(keys.calibration, {
    etag: async () => (await store.head(keys.calibration, timings))?.etag ?? null,
    load: async () => {
      const stored = await store.loadCalibration(keys, timings);
      return stored ? { value: stored.calibration, etag: stored.etag, bytes: 1024 } : null;
    },
  });
  return value;
}
