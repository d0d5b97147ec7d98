import { matmulTransposedA, matmulTransposedB, projectOut } from "../../onnx/kernels";
import { SeededRandom } from "../../random";
import { gatherRows } from "../vectors";

const { max, min, sqrt } = Math;

/**
 * The subspace the two-stage search (./twoStage.ts) bounds distances in: the mean of the bank's
 * rows and an orthonormal basis of their dominant directions. Found from a sample of rows (a
 * randomised range finder, float64 orthonormalisation) when a memory is fitted, and stored in the
 * memory's .npz (lib/store/npz.ts), so that loading a memory does not find it again (~300 ms
 * at 10k x 1152: /fit_ok's timings_ms.knn_basis). Any orthonormal basis keeps the search exact; a better one only
 * makes its bounds tighter, so a stored basis is used only after a check that it is orthonormal
 * (basisDeviationF64, lib/onnx/kernels.ts).
 */
export interface ShortlistBasis {
  /** Float32Array [dim]: the centre subtracted before projecting. */
  readonly mean: Float32Array;
  /** Float32Array [rank, dim]: orthonormal rows. */
  readonly basis: Float32Array;
  readonly rank: number;
}

/** What finding a basis needs to know (a subset of TwoStageParams). */
export interface BasisParams {
  /** Principal directions kept. */
  readonly rank: number;
  /** Rows sampled to find them (all rows if the bank is smaller). */
  readonly sampleRows: number;
  /** Power iterations of the randomised range finder. */
  readonly powerIterations: number;
  readonly seed: number;
}

/**
 * Largest deviation from orthonormality a stored basis may have: ||B B^T - I||_F, which bounds
 * how far |projection|^2 can stray from a true projection's, relative to |row|^2. The search's
 * rounding margin (LOWER_BOUND_MARGIN, 2e-5) must absorb it; a basis found here stays under half
 * of it (test/unit/twoStage.test.ts checks one of rank 160 in 1152-d).
 */
export const MAX_BASIS_DEVIATION = 1e-6;

/**
 * The basis of rows `rowOf` of `data` [rows, dim] (the bank's distinct rows): every
 * floor(u / sampleRows)-th of them sampled, centred on their mean, and their top `rank` directions.
 */
export async function findShortlistBasis(data: Float32Array, rowOf: Int32Array, dim: number, params: BasisParams, threads: number): Promise<ShortlistBasis> {
  const u = rowOf.length;
  const rank = min(params.rank, dim);
  const sampleCount = min(u, params.sampleRows);
  const sampleRows = Int32Array.from({ length: sampleCount }, (_, i) => rowOf[Math.floor((i * u) / sampleCount)]!);
  const sample = gatherRows(data, dim, sampleRows);
  const mean = columnMean(sample, sampleCount, dim);
  subtractRow(sample, sampleCount, dim, mean);
  // the whole space: the bounds are the distances themselves (in float32), no basis to find
  const basis = rank === dim ? identity(dim) : await principalBasis(sample, sampleCount, dim, rank, params.powerIterations, params.seed, threads);
  return { mean, basis, rank };
}

function subtractRow(data: Float32Array, rows: number, dim: number, row: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    for (let d = 0; d < dim; d++) data[base + d]! -= row[d]!;
  }
}

function columnMean(data: Float32Array, rows: number, dim: number): Float32Array {
  const sum = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) sum[d]! += data[r * dim + d]!;
  return Float32Array.from(sum, (s) => s / max(rows, 1));
}

/**
 * Orthonormal basis [rank, dim] (rows) of the dominant row space of centred `sample` [rows, dim]:
 * a randomised range finder (Halko, Martinsson, Tropp 2011) with `iterations` power iterations,
 * the products on onnxruntime. Any orthonormal basis keeps the lower bound valid; a better one
 * only makes it tighter.
 */
async function principalBasis(
  sample: Float32Array,
  rows: number,
  dim: number,
  rank: number,
  iterations: number,
  seed: number,
  threads: number,
): Promise<Float32Array> {
  const rng = new SeededRandom(seed);
  let basis = rng.fillNormal(new Float32Array(rank * dim), 1);
  for (let it = 0; it <= iterations; it++) {
    const scores = await matmulTransposedB(sample, basis, rows, dim, rank, threads); // [rows, rank]
    basis = await orthonormalRows(await matmulTransposedA(scores, sample, rows, rank, dim, threads), rank, dim, rng, threads); // [rank, dim]
  }
  return basis;
}

const GRAM_SCHMIDT_BLOCK = 32;

/**
 * Orthonormal rows spanning those of `a` [count, dim] (row-major), in order, in float64: block
 * Gram-Schmidt, twice ("BCGS2"), the projections on the rows done so far on onnxruntime (float64
 * Gemm), the rows of a block among themselves by modified Gram-Schmidt, twice, in JavaScript.
 * Float64 throughout: the power iteration leaves the rows ill-conditioned (singular values spread
 * by the eigenvalues squared), and float32 projections left rows not orthogonal to the earlier
 * ones, which broke the lower bound (measured: projections longer than their vector on the
 * texture model's features). A row that vanishes (rank-deficient input) is replaced by a random one.
 */
export async function orthonormalRows(a: Float32Array, count: number, dim: number, rng: SeededRandom, threads: number): Promise<Float32Array> {
  const q = new Float64Array(count * dim);
  const row = new Float64Array(dim);
  for (let start = 0; start < count; start += GRAM_SCHMIDT_BLOCK) {
    const size = min(GRAM_SCHMIDT_BLOCK, count - start);
    let block: Float64Array = Float64Array.from(a.subarray(start * dim, (start + size) * dim));
    if (start > 0) for (let pass = 0; pass < 2; pass++) block = await projectOut(block, q.subarray(0, start * dim), size, start, dim, threads);
    for (let r = 0; r < size; r++) {
      for (let d = 0; d < dim; d++) row[d] = block[r * dim + d]!;
      let original = 0;
      for (let d = 0; d < dim; d++) original += a[(start + r) * dim + d]! ** 2;
      original = sqrt(original);
      for (let attempt = 0; ; attempt++) {
        // a replacement row, or one that mostly cancelled (float64 rounding then matters): all earlier rows again
        const all = attempt > 0 || norm(row) < 1e-4 * original;
        const before = attempt > 0 ? norm(row) : original;
        for (let pass = 0; pass < 2; pass++) for (let p = all ? 0 : start; p < start + r; p++) subtractProjection(row, q, p * dim, dim);
        const after = norm(row);
        if (after > 1e-9 * before && after > 1e-30) {
          for (let d = 0; d < dim; d++) q[(start + r) * dim + d] = row[d]! / after;
          break;
        }
        if (attempt > 8) throw new Error("orthonormalRows: cannot complete the basis");
        for (let d = 0; d < dim; d++) row[d] = rng.normal();
      }
    }
  }
  return Float32Array.from(q);
}

/** row -= (row . q[base ..]) q[base ..], float64. */
function subtractProjection(row: Float64Array, q: Float64Array, base: number, dim: number): void {
  let s0 = 0;
  let s1 = 0;
  let d = 0;
  for (; d + 1 < dim; d += 2) {
    s0 += q[base + d]! * row[d]!;
    s1 += q[base + d + 1]! * row[d + 1]!;
  }
  if (d < dim) s0 += q[base + d]! * row[d]!;
  const s = s0 + s1;
  for (d = 0; d < dim; d++) row[d]! -= s * q[base + d]!;
}

function identity(dim: number): Float32Array {
  const out = new Float32Array(dim * dim);
  for (let d = 0; d < dim; d++) out[d * dim + d] = 1;
  return out;
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return sqrt(s);
}
