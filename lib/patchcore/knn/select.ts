import type { KnnBackendSetting } from "../../config";

/**
 * Which nearest-neighbour backend scores an inference. HNSW is allowed only where it is faster
 * than exact AND its recall@1 >= 0.99 with image-score error <= 1 %.
 *
 * Measured on this project's 2-core machine (npm run bench, 1024 queries, clustered data):
 *   D=384,  1k rows: exact 3.0 ms;  HNSW ef16 32 ms (recall 98.8 %), ef64 48 ms (100 %)
 *   D=384, 10k rows: exact 29 ms;   HNSW ef16 65 ms (97.8 %),        ef64 130 ms (100 %)
 *   D=1152, 1k rows: exact 6.5 ms;  HNSW ef16 88 ms (98.6 %),        ef64 119 ms (100 %)
 *   D=1152,10k rows: exact 65 ms;   HNSW ef16 182 ms (98.3 %),       ef64 386 ms (100 %)
 * Exact (onnxruntime GEMM + ReduceMin) wins at every measured size, by 5-16x where HNSW meets
 * the recall bar; hnswlib-node's per-query calls with plain-Array copies cost more than the
 * brute-force GEMM saves. So "auto" is exact. "hnsw" can be forced (KNN_BACKEND=hnsw); it then
 * needs the index stored with the memory and falls back to exact without one.
 */
export function chooseBackend(setting: KnnBackendSetting, indexAvailable: boolean): "exact" | "hnsw" {
  return setting === "hnsw" && indexAvailable ? "hnsw" : "exact";
}

/** Whether a fit builds and stores the HNSW index for a bank of `rows` rows. */
export function shouldBuildIndex(rows: number, maxRows: number): boolean {
  return rows <= maxRows;
}
