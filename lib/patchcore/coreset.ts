import { kCenterGreedyPicks, matmul, nearestSquaredL2Normalised } from "../onnx/kernels";
import { SeededRandom } from "../random";
import { gatherRows } from "./vectors";

const { ceil, max, min, sqrt } = Math;

export interface CoresetOptions {
  /** Fraction of rows to keep, in (0, 1]. */
  readonly rate: number;
  readonly seed: number;
  /** Dimension of the random projection used for the greedy distance updates (PatchCore: ~128). */
  readonly projectionDim: number;
  readonly threads: number;
}

export interface CoresetResult {
  /** Row indices in the order the greedy picked them. */
  readonly indices: Int32Array;
  readonly rateRequested: number;
  readonly rateApplied: number;
  /** Largest distance from any row to its nearest picked row, full dimension (Euclidean). */
  readonly coveringRadius: number;
  /** Covering radius in the projected space after each pick: radii[j] with j+1 centres. */
  readonly projectedRadii: Float32Array;
}

/** How many rows a rate keeps of n: ceil(rate * n), at least 1, at most n. */
export function coresetSize(n: number, rate: number): number {
  return min(n, max(1, ceil(rate * n - 1e-9)));
}

/**
 * Gaussian random projection matrix Float32Array [dim, projectionDim], entries N(0, 1/projectionDim)
 * (Johnson-Lindenstrauss: squared distances preserved in expectation).
 */
export function randomProjection(dim: number, projectionDim: number, seed: number): Float32Array {
  return new SeededRandom(seed ^ 0x9e3779b9).fillNormal(new Float32Array(dim * projectionDim), 1 / sqrt(projectionDim));
}

/**
 * k-center greedy (PatchCore, Roth et al. 2022, Alg. 1): start from a seeded random row, then
 * repeatedly pick the row farthest from all picked rows, distances measured in a random
 * projection to `projectionDim` (the full dimension if it is not larger). The distance updates run
 * on onnxruntime (kCenterGreedyPicks).
 * @param rows Float32Array [n, dim], row-major
 */
export async function kCenterGreedy(rows: Float32Array, dim: number, options: CoresetOptions): Promise<CoresetResult> {
  const n = rows.length / dim;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`kCenterGreedy: ${rows.length} values is not rows of ${dim}`);
  const k = coresetSize(n, options.rate);
  if (k === n) {
    return {
      indices: Int32Array.from({ length: n }, (_, i) => i),
      rateRequested: options.rate,
      rateApplied: 1,
      coveringRadius: 0,
      projectedRadii: new Float32Array(n),
    };
  }
  const p = dim > options.projectionDim ? options.projectionDim : dim;
  const projected = p === dim ? rows : await matmul(rows, randomProjection(dim, p, options.seed), n, dim, p, options.threads);

  const { indices, radii } = await kCenterGreedyPicks(projected, n, p, k, new SeededRandom(options.seed).int(n), options.threads);
  // rows are L2-normalised (fitMemoryBank does it), so normalising them again in the graph changes nothing
  const nearest = await nearestSquaredL2Normalised(rows, gatherRows(rows, dim, indices), dim, options.threads);
  let radius = 0;
  for (let i = 0; i < n; i++) radius = max(radius, nearest.minSquared[i]!);
  return { indices, rateRequested: options.rate, rateApplied: k / n, coveringRadius: sqrt(radius), projectedRadii: radii };
}

/**
 * k-center greedy started from rows already kept (PatchCore's sampler seeded with a memory instead
 * of a random pick): each added row is the candidate farthest, in the full dimension, from
 * everything kept so far. At most `budget` candidates are added, fewer when the rest lie on kept
 * rows already. Used to teach a memory new good patches without moving any row it has.
 * @param kept       Float32Array [m, dim], L2-normalised, m >= 1
 * @param candidates Float32Array [n, dim], L2-normalised
 * @returns the candidates picked, in order, and the largest distance left from a candidate to its nearest kept or picked row
 */
export async function kCenterGreedyFrom(
  kept: Float32Array,
  candidates: Float32Array,
  dim: number,
  budget: number,
  threads: number,
): Promise<{ indices: Int32Array; coveringRadius: number }> {
  const n = candidates.length / dim;
  const nearest = await nearestSquaredL2Normalised(candidates, kept, dim, threads);
  let start = 0;
  for (let i = 1; i < n; i++) if (nearest.minSquared[i]! > nearest.minSquared[start]!) start = i;
  const k = min(budget, n);
  if (k < 1 || !(nearest.minSquared[start]! > 0)) return { indices: new Int32Array(0), coveringRadius: sqrt(max(0, nearest.minSquared[start] ?? 0)) };
  const { indices, radii } = await kCenterGreedyPicks(candidates, n, dim, k, start, threads, nearest.minSquared);
  // radii[j]: the farthest candidate after j + 1 picks; a pick at distance 0 adds nothing new: stop before it
  let useful = k;
  for (let j = 0; j < k - 1; j++) {
    if (!(radii[j]! > 0)) {
      useful = j + 1;
      break;
    }
  }
  return { indices: indices.slice(0, useful), coveringRadius: radii[useful - 1]! };
}
