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
