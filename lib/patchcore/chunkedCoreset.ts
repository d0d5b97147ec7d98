import { coresetSize, kCenterGreedy } from "./coreset";
import type { FitStats } from "./memoryBank";
import { concatRows, gatherRows } from "./vectors";

const { max, min } = Math;

export interface ChunkCoreset {
  /** Float32Array [rows, dim], L2-normalised: the chunk's greedy picks. */
  readonly rows: Float32Array;
  readonly count: number;
  /** Patches of the chunk. */
  readonly nEmbeddings: number;
  /** Largest distance from a patch of the chunk to its nearest pick (full dimension). */
  readonly coveringRadius: number;
}

/**
 * The chunked coreset of a fit spread over workers (a dataset fit), in two passes of k-center greedy.
 *
 * First pass, on each worker: one chunk's patches (L2-normalised, [n, dim]) reduced to
 * `rate x oversample` of them (all of them when keepAll). Oversampling keeps the merge's choice
 * wide: the second pass picks the final `rate` among these candidates.
 */
export async function chunkCoreset(
  rows: Float32Array,
  dim: number,
  options: { rate: number; oversample: number; keepAll: boolean; seed: number; threads: number },
): Promise<ChunkCoreset> {
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

/**
 * Second pass, on the coordinator: the chunks' picks merged, then k-center greedy to the fit's
 * requested size, ceil(rate x all patches), as a single pass over every patch would keep. The
 * stats' covering radius is an upper bound on the largest distance from any patch of the fit to
 * its nearest kept row: a patch is within its chunk's radius of a first-pass pick, which is within
 * the merge's radius of a kept row (triangle inequality).
 */
export async function mergeChunkCoresets(
  chunks: readonly ChunkCoreset[],
  dim: number,
  options: { rate: number; keepAll: boolean; seed: number; threads: number },
): Promise<{ rows: Float32Array; stats: FitStats }> {
  const union = concatRows(chunks.map((c) => c.rows));
  const candidates = union.length / dim;
  const nEmbeddings = chunks.reduce((sum, c) => sum + c.nEmbeddings, 0);
  const chunkRadius = chunks.reduce((m, c) => max(m, c.coveringRadius), 0);
  const kept = (rows: Float32Array, rateRequested: number, coveringRadius: number) => {
    const coresetSize = rows.length / dim;
    return { rows, stats: { nEmbeddings, coresetSize, rateRequested, rateApplied: coresetSize / nEmbeddings, coveringRadius } };
  };
  if (options.keepAll) return kept(union, 1, 0);
  const k = coresetSize(nEmbeddings, options.rate);
  if (k >= candidates) return kept(union, options.rate, chunkRadius);
  const merged = await kCenterGreedy(union, dim, { rate: k / candidates, seed: options.seed, projectionDim: 128, threads: options.threads });
  return kept(gatherRows(union, dim, merged.indices), options.rate, chunkRadius + merged.coveringRadius);
}
