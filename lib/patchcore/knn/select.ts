import type { KnnBackendSetting } from "../../config";

export type KnnKind = "exact" | "hnsw" | "two_stage";

/**
 * Which nearest-neighbour backend scores an inference. This one decision serves both ends: a fit
 * builds and stores an HNSW index exactly when an inference on that bank will read it, and an
 * inference reads it only then (and only when the index was written by the memory's own fit;
 * otherwise it scores exactly). For the two-stage search a fit stores its principal basis in the
 * memory (lib/patchcore/knn/shortlistBasis.ts); the rest of its shortlist is built from the bank
 * when the memory is loaded (and the basis too, for a memory stored without one).
 *
 * "auto": exact below TWO_STAGE_MIN_ROWS rows or TWO_STAGE_MIN_DIM dimensions, the two-stage search
 * (lib/patchcore/knn/twoStage.ts) from there on. Both give the brute-force answer; the two-stage search is faster on large banks
 * (npm run bench, knn section: 1024 queries x 1152-d, ViT-S/14-shaped features of the bench images).
 * "exact" forces brute force everywhere; "two_stage" forces the two-stage search everywhere.
 *
 * HNSW is allowed only where it is faster than exact AND its recall@1 >= 0.99 with image-score
 * error <= 1 %. Measured on this project's 2-core machine (npm run bench, 1024 queries, clustered
 * data; HNSW M 16, efConstruction 200):
 *   D=384,   1k rows: exact 2.0 ms;  HNSW ef16 32 ms (recall 98.8 %), ef64 49 ms (100 %)
 *   D=384,  10k rows: exact 24 ms;   HNSW ef16 58 ms (97.8 %),        ef64 94 ms (100 %)
 *   D=384,  50k rows: exact 122 ms;  HNSW ef16 105 ms (98.0 %),       ef64 232 ms (100 %)
 *   D=1152,  1k rows: exact 6.8 ms;  HNSW ef16 92 ms (98.6 %),        ef64 123 ms (100 %)
 *   D=1152, 10k rows: exact 57 ms;   HNSW ef16 191 ms (98.3 %),       ef64 394 ms (100 %)
 *   D=1152, 50k rows: exact 300 ms;  HNSW ef16 288 ms (97.7 %),       ef64 627 ms (100 %)
 * HNSW is faster only at ef 16 on 50k rows, where its recall@1 (97.7-98.0 %) misses the 0.99
 * bar; wherever it meets the bar, exact is 2-18x faster, and the index costs 10 s (10k x 1152) to
 * 94 s (50k x 1152) to build. So "auto" never picks it. "hnsw" can be forced (KNN_BACKEND=hnsw),
 * and only for banks of at most `hnswMaxRows` rows (its build time grows to many seconds); larger
 * banks are then scored as "auto" would.
 */
export function knnPlan(setting: KnnBackendSetting, rows: number, hnswMaxRows: number, dim = Number.POSITIVE_INFINITY): KnnKind {
  if (setting === "exact") return "exact";
  if (setting === "two_stage") return "two_stage";
  if (setting === "hnsw" && rows <= hnswMaxRows) return "hnsw";
  return rows >= TWO_STAGE_MIN_ROWS && dim >= TWO_STAGE_MIN_DIM ? "two_stage" : "exact";
}

/**
 * Narrowest embedding the two-stage search takes under "auto": its first stage is a Gemm rank + 1
 * deep, so it saves work only when the embedding is much wider than its rank (160). Measured with
 * the offline texture model (108-d, so the "projection" is the whole space): 51200 rows, two-stage
 * 1190 ms against 555 ms exact (npm run bench, inference section).
 */
export const TWO_STAGE_MIN_DIM = 384;

/**
 * Smallest bank the two-stage search takes under "auto". Below it the exact graph is as fast or
 * faster (its whole cost is a few ms) and the shortlist's build at load would not pay back.
 */
export const TWO_STAGE_MIN_ROWS = 3000;
