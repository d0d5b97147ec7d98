import { coresetSize, kCenterGreedy } from "./coreset";
import { concatRows, gatherRows } from "./vectors";

const { max, min } = Math;

export interface ChunkReduction {
  /** Float32Array [rows, dim], L2-normalised: the chunk's greedy picks. */
  readonly rows: Float32Array;
  readonly count: number;
  /** Patches of the chunk. */
  readonly nEmbeddings: number;
  /** Largest distance from a patch of the chunk to its nearest pick (full dimension). */
  readonly coveringRadius: number;
}

/**
 * Stage 1 of a fit spread over workers: one chunk's patches (L2-normalised, [n, dim]) reduced by
 * k-center greedy to `rate x oversample` of them (all of them when keepAll). Oversampling keeps
 * the merge's choice wide: stage 2 picks the final `rate` among these candidates.
 */
export async function reduceChunk(
  rows: Float32Array,
  dim: number,
  options: { rate: number; oversample: number; keepAll: boolean; seed: number; threads: number },
): Promise<ChunkReduction> {
  const n = rows.length / dim;
  if (options.keepAll) return { rows, count: n, nEmbeddings: n, coveringRadius: 0 };
  const result = await kCenterGreedy(rows, dim, {
    rate: min(1, options.rate * options.oversample),
    seed: options.seed,
    projectionDim: 128,
    threads: options.threads,
  });
  return { rows: gatherRows(rows, dim, result.indices), count: result.indices.length, nEmbeddings: n, coveringRadius: result.coveringRadius };
}

export interface MergedCoreset {
  readonly rows: Float32Array;
  readonly count: number;
  readonly nEmbeddings: number;
  readonly rateRequested: number;
  readonly rateApplied: number;
  /**
   * An upper bound on the largest distance from any patch of the fit to its nearest kept row: a
   * patch is within its chunk's radius of a stage-1 pick, which is within the merge's radius of a
   * kept row (triangle inequality).
   */
  readonly coveringRadius: number;
}

/**
 * Stage 2: the chunks' picks merged, then k-center greedy to the fit's requested size,
 * ceil(rate x all patches), as a single pass over every patch would keep.
 */
export async function mergeChunks(
  chunks: readonly ChunkReduction[],
  dim: number,
  options: { rate: number; keepAll: boolean; seed: number; threads: number },
): Promise<MergedCoreset> {
  const union = concatRows(chunks.map((c) => c.rows));
  const candidates = union.length / dim;
  const nEmbeddings = chunks.reduce((sum, c) => sum + c.nEmbeddings, 0);
  const chunkRadius = chunks.reduce((m, c) => max(m, c.coveringRadius), 0);
  if (options.keepAll) return { rows: union, count: candidates, nEmbeddings, rateRequested: 1, rateApplied: candidates / nEmbeddings, coveringRadius: 0 };
  const k = coresetSize(nEmbeddings, options.rate);
  if (k >= candidates)
    return { rows: union, count: candidates, nEmbeddings, rateRequested: options.rate, rateApplied: candidates / nEmbeddings, coveringRadius: chunkRadius };
  const merged = await kCenterGreedy(union, dim, { rate: k / candidates, seed: options.seed, projectionDim: 128, threads: options.threads });
  const rows = gatherRows(union, dim, merged.indices);
  const count = merged.indices.length;
  return { rows, count, nEmbeddings, rateRequested: options.rate, rateApplied: count / nEmbeddings, coveringRadius: chunkRadius + merged.coveringRadius };
}
