import * as ort from "onnxruntime-node";
import { GraphBuilder } from "./graphBuilder";
import { NO_SPINNING } from "./sessionOptions";

/**
 * Small numeric kernels as ONNX graphs, run by onnxruntime: its blocked, multi-threaded GEMM is
 * ~100x faster than scalar JavaScript for the [n, D] x [D, m] products PatchCore needs
 * (1024 x 10000 x 384 in ~37 ms on 2 cores, TOOLCHAIN.md). Sessions are created once per
 * process and thread count.
 */

/**
 * queries [n, D] (any norm), memory [m, D], memory_sq_norms [m] ->
 * min over memory rows of ||q/|q| - m||^2 [n] (and its row index [n] when `withIndex`).
 * The queries are L2-normalised in the graph; the distance matrix is one Gemm with the memory
 * norms as its bias (|m|^2 - 2 q.m), then one ReduceMin: no other pass over the [n, m] matrix.
 */
function nearestGraph(withIndex: boolean): Uint8Array {
  const b = new GraphBuilder(withIndex ? "nearest_with_index" : "nearest");
  const q = b.input("queries", ["n", "dim"]);
  const m = b.input("memory", ["m", "dim"]);
  const mNorm = b.input("memory_sq_norms", ["m"]);
  const axes1 = b.int64s("axes", [1]);
  const qSquared = b.op("ReduceSumSquare", [q, axes1], { keepdims: 1 }); // [n, 1]
  const qLength = b.op("Max", [b.op("Sqrt", [qSquared]), b.floats("eps", [1], [1e-12])]);
  const unit = b.op("Div", [q, qLength]);
  const unitSquared = b.op("ReduceSumSquare", [unit, axes1], { keepdims: 0 }); // [n]: 1, or 0 for a zero row
  const partial = b.op("Gemm", [unit, m, mNorm], { transB: 1, alpha: { float: -2 }, beta: { float: 1 } }); // |m|^2 - 2 q.m
  b.expose(b.op("Add", [b.op("ReduceMin", [partial, axes1], { keepdims: 0 }), unitSquared]), "min_squared", ["n"]);
  if (withIndex) b.expose(b.op("ArgMin", [partial], { axis: 1, keepdims: 0, select_last_index: 0 }), "argmin", ["n"], GraphBuilder.INT64);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/** a [n, k] x b [k, m] -> [n, m]. */
function matmulGraph(): Uint8Array {
  const b = new GraphBuilder("matmul");
  const a = b.input("a", ["n", "k"]);
  const c = b.input("b", ["k", "m"]);
  b.expose(b.op("MatMul", [a, c]), "product", ["n", "m"]);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/** a [k, n] (transposed) x b [k, m] -> [n, m]: a^T b without copying a transposed. */
function matmulTransposedAGraph(): Uint8Array {
  const b = new GraphBuilder("matmul_transposed_a");
  const a = b.input("a", ["k", "n"]);
  const c = b.input("b", ["k", "m"]);
  b.expose(b.op("Gemm", [a, c], { transA: 1 }), "product", ["n", "m"]);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/** float64 a [n, k] x b [m, k] -> a b^T [n, m], and then c - (a b^T) b [n, k]: one projection pass of block Gram-Schmidt. */
function projectOutGraph(): Uint8Array {
  const b = new GraphBuilder("project_out_f64");
  const block = b.input("block", ["n", "k"], GraphBuilder.DOUBLE);
  const done = b.input("done", ["m", "k"], GraphBuilder.DOUBLE);
  const coefficients = b.op("Gemm", [block, done], { transB: 1 }); // [n, m]
  b.expose(b.op("Sub", [block, b.op("MatMul", [coefficients, done])]), "rest", ["n", "k"], GraphBuilder.DOUBLE);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/** a [n, k] x b [m, k] (transposed) -> [n, m]: a b^T without copying b transposed. */
function matmulTransposedBGraph(): Uint8Array {
  const b = new GraphBuilder("matmul_transposed_b");
  const a = b.input("a", ["n", "k"]);
  const c = b.input("b", ["m", "k"]);
  b.expose(b.op("Gemm", [a, c], { transB: 1 }), "product", ["n", "m"]);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/**
 * The first stage of the two-stage nearest-neighbour search (lib/patchcore/knn/twoStage.ts):
 * centred_queries [n, D] (each query normalised and centred: `centredQueries`), basis [r, D]
 * (orthonormal rows), memory_aug [m, r+1], memory_aug_sq_norms [m], k [1] ->
 *   lower_bounds [n, k]: the k smallest lower bounds on ||q/|q| - memory row||^2, ascending, and
 *   candidates [n, k] (int32): their rows, and
 *   query_aug_sq [n]: each query's squared norm once centred (|q'|^2: the scale of its bounds' rounding).
 * A centred query q is augmented to [P^T q, |residual|],
 * a memory row likewise (precomputed); the squared distance between augmented vectors,
 * ||P^T(q - m)||^2 + (|r_q| - |r_m|)^2, is <= ||q - m||^2 (the residuals' dot product is at most
 * the product of their norms). One Gemm with the memory norms as bias, one TopK: the [n, m]
 * matrix is written once and read once, as in the exact graph, but is r+1 rather than D deep.
 */
function shortlistGraph(): Uint8Array {
  const b = new GraphBuilder("two_stage_shortlist");
  const centred = b.input("centred_queries", ["n", "dim"]);
  const basis = b.input("basis", ["r", "dim"]);
  const m = b.input("memory_aug", ["m", "r1"]);
  const mNorm = b.input("memory_aug_sq_norms", ["m"]);
  const k = b.input("k", [1], GraphBuilder.INT64);
  const axes1 = b.int64s("axes", [1]);
  const projected = b.op("Gemm", [centred, basis], { transB: 1 }); // [n, r]
  const residual = residualNorm(b, centred, projected, basis, axes1); // [n, 1]
  const augmented = b.op("Concat", [projected, b.op("Cast", [residual], { to: GraphBuilder.FLOAT })], { axis: 1 }); // [n, r+1]
  const partial = b.op("Gemm", [augmented, m, mNorm], { transB: 1, alpha: { float: -2 }, beta: { float: 1 } }); // |m'|^2 - 2 q'.m'
  const [values, indices] = b.node("TopK", [partial, k], { axis: 1, largest: 0, sorted: 1 }, 2);
  const augmentedSquared = b.op("ReduceSumSquare", [augmented, axes1], { keepdims: 1 }); // [n, 1]
  b.expose(b.op("Add", [values!, augmentedSquared]), "lower_bounds", ["n", "k"]);
  b.expose(b.op("Cast", [indices!], { to: GraphBuilder.INT32 }), "candidates", ["n", "k"], GraphBuilder.INT32);
  b.expose(b.op("Reshape", [augmentedSquared, b.int64s("column", [-1])]), "query_aug_sq", ["n"]);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/**
 * |centred - projected B| per row, summed in float64 ([n, 1], float64): the norm of what the
 * projection on `basis` misses, computed from the difference itself. Its rounding error is then
 * proportional to |centred|, as the bounds' margin assumes; sqrt(|centred|^2 - |projected|^2) errs
 * by up to the square root of the rounding of that difference, which for a vector almost inside
 * the subspace is orders of magnitude more (a query with residual^2 ~ 1e-7 was given the wrong
 * nearest row that way, with no fallback).
 */
function residualNorm(b: GraphBuilder, centred: string, projected: string, basis: string, axes1: string): string {
  const residual = b.op("Sub", [centred, b.op("MatMul", [projected, basis])]); // [n, D]
  return b.op("Sqrt", [b.op("ReduceSumSquare", [b.op("Cast", [residual], { to: GraphBuilder.DOUBLE }), axes1], { keepdims: 1 })]);
}

/**
 * What the two-stage search keeps of each memory row (lib/patchcore/knn/twoStage.ts): memory [m, D],
 * rows [b] (int32: which rows), mean [1, D], basis [r, D] (orthonormal rows) ->
 *   memory_aug [b, r+1]: the row centred (float32: one rounding of the difference of two float32
 *     vectors, so its error is proportional to the centred row), projected on the basis, and the norm of what the projection misses (residualNorm);
 *   memory_aug_sq_norms [b]: |projected|^2 + residual^2 (float64, then float32).
 */
function memoryAugGraph(): Uint8Array {
  const b = new GraphBuilder("two_stage_memory_aug");
  const memory = b.input("memory", ["m", "dim"]);
  const rows = b.input("rows", ["b"], GraphBuilder.INT32);
  const mean = b.input("mean", [1, "dim"]);
  const basis = b.input("basis", ["r", "dim"]);
  const axes1 = b.int64s("axes", [1]);
  const centred = b.op("Sub", [b.op("Gather", [memory, rows], { axis: 0 }), mean]); // [b, D]
  const projected = b.op("Gemm", [centred, basis], { transB: 1 }); // [b, r]
  const projectedSquared = b.op("ReduceSumSquare", [b.op("Cast", [projected], { to: GraphBuilder.DOUBLE }), axes1], { keepdims: 1 }); // [b, 1] float64
  const residual = residualNorm(b, centred, projected, basis, axes1); // [b, 1] float64
  b.expose(b.op("Concat", [projected, b.op("Cast", [residual], { to: GraphBuilder.FLOAT })], { axis: 1 }), "memory_aug", ["b", "r1"]);
  const augSquared = b.op("Add", [projectedSquared, b.op("Mul", [residual, residual])]);
  b.expose(b.op("Cast", [b.op("Reshape", [augSquared, b.int64s("column", [-1])])], { to: GraphBuilder.FLOAT }), "memory_aug_sq_norms", ["b"]);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/** basis [r, D] (float32) -> ||B B^T - I||_F^2, in float64 (a scalar). */
function basisDeviationGraph(): Uint8Array {
  const b = new GraphBuilder("basis_deviation");
  const basis = b.op("Cast", [b.input("basis", ["r", "dim"])], { to: GraphBuilder.DOUBLE });
  const gram = b.op("Gemm", [basis, basis], { transB: 1 }); // [r, r]
  const identity = b.op("EyeLike", [gram]);
  b.expose(b.op("ReduceSumSquare", [b.op("Sub", [gram, identity])], { keepdims: 0 }), "squared", [], GraphBuilder.DOUBLE);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/**
 * queries [n, D] (any norm, normalised as in `nearestGraph`), memory [m, D], bank_rows [m'] (int32:
 * the bank row of each shortlist row), candidates [n, e] (int32, shortlist rows) ->
 * dots [n, e]: unit query i . memory[bank_rows[candidates[i, c]]], float32. The candidate rows are
 * gathered ([n, e, D]) and each query's e dot products are one batched matrix-vector product.
 */
function candidateDotsGraph(): Uint8Array {
  const b = new GraphBuilder("candidate_dots");
  const q = b.input("queries", ["n", "dim"]);
  const m = b.input("memory", ["m", "dim"]);
  const bankRows = b.input("bank_rows", ["u"], GraphBuilder.INT32);
  const candidates = b.input("candidates", ["n", "e"], GraphBuilder.INT32);
  const axes1 = b.int64s("axes", [1]);
  const qLength = b.op("Max", [b.op("Sqrt", [b.op("ReduceSumSquare", [q, axes1], { keepdims: 1 })]), b.floats("eps", [1], [1e-12])]);
  const unit = b.op("Unsqueeze", [b.op("Div", [q, qLength]), b.int64s("axis2", [2])]); // [n, D, 1]
  const rows = b.op("Gather", [m, b.op("Gather", [bankRows, candidates], { axis: 0 })], { axis: 0 }); // [n, e, D]
  b.expose(b.op("Squeeze", [b.op("MatMul", [rows, unit]), b.int64s("axis2b", [2])]), "dots", ["n", "e"]);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/**
 * map [1, 1, H, W], row kernel [1, 1, 1, K], column kernel [1, 1, K, 1], pads [8] ->
 * the map convolved with both kernels after reflect padding (ONNX "reflect" mirrors without
 * repeating the edge: OpenCV's BORDER_REFLECT_101).
 */
function separableBlurGraph(): Uint8Array {
  const b = new GraphBuilder("separable_blur");
  const map = b.input("map", [1, 1, "h", "w"]);
  const rowKernel = b.input("row_kernel", [1, 1, 1, "k"]);
  const columnKernel = b.input("column_kernel", [1, 1, "k", 1]);
  const pads = b.input("pads", [8], GraphBuilder.INT64);
  const padded = b.op("Pad", [map, pads], { mode: "reflect" });
  b.expose(b.op("Conv", [b.op("Conv", [padded, rowKernel]), columnKernel]), "blurred", [1, 1, "h", "w"]);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

/**
 * One k-center greedy step: points [N, p], point_sq_norms [N], centre [1, p], centre_sq [1],
 * min_squared [N] -> new_min_squared [N] = min(min_squared, ||point - centre||^2) and the index
 * of its largest entry (the next centre), as an int64 scalar.
 */
function greedyStepGraph(): Uint8Array {
  const b = new GraphBuilder("k_center_greedy_step");
  const points = b.input("points", ["n", "p"]);
  const pointNorms = b.input("point_sq_norms", ["n"]);
  const centre = b.input("centre", [1, "p"]);
  const centreNorm = b.input("centre_sq", [1]);
  const previous = b.input("min_squared", ["n"]);
  const dots = b.op("Reshape", [b.op("Gemm", [points, centre], { transB: 1, alpha: { float: -2 } }), b.int64s("flat", [-1])]); // -2 y.c
  const squared = b.op("Add", [b.op("Add", [dots, pointNorms]), centreNorm]);
  const updated = b.op("Min", [previous, squared]);
  b.expose(updated, "new_min_squared", ["n"]);
  b.expose(b.op("ArgMax", [updated], { axis: 0, keepdims: 0, select_last_index: 0 }), "farthest", [], GraphBuilder.INT64);
  return b.encode(18, "patchcore-inspection-api/kernels");
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function session(name: string, build: () => Uint8Array, threads: number): Promise<ort.InferenceSession> {
  const key = `${name}/${threads}`;
  let created = sessions.get(key);
  if (!created) {
    created = ort.InferenceSession.create(build(), {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      extra: NO_SPINNING,
    });
    created.catch(() => sessions.delete(key));
    sessions.set(key, created);
  }
  return created;
}

export interface NearestResult {
  /** Float32Array [n]: squared L2 distance from the normalised query to its nearest memory row (may be slightly < 0 from rounding). */
  readonly minSquared: Float32Array;
  /** Int32Array [n]: index of that memory row (only when asked for). */
  readonly index: Int32Array | null;
}

/** Rows of memory per ONNX run: bounds the [n, block] distance matrix (1024 x 16384 floats = 64 MB). */
const MEMORY_BLOCK = 16384;

const { min } = Math;
const squaredNorms = new WeakMap<Float32Array, Float32Array>();

/** ||row||^2 of each memory row, Float32Array [m], computed once per memory array. */
function memorySquaredNorms(memory: Float32Array, dim: number): Float32Array {
  let norms = squaredNorms.get(memory);
  if (!norms) {
    norms = new Float32Array(memory.length / dim);
    for (let r = 0; r < norms.length; r++) {
      let s = 0;
      for (let d = r * dim, end = d + dim; d < end; d++) s += memory[d]! * memory[d]!;
      norms[r] = s;
    }
    squaredNorms.set(memory, norms);
  }
  return norms;
}

/**
 * Exact nearest neighbour of L2-normalised queries by squared Euclidean distance, brute force on
 * onnxruntime. The queries need not be normalised: the graph does it (the old backend compared
 * L2-normalised patch embeddings); the memory is used as given.
 * @param queries Float32Array [n, dim] row-major
 * @param memory  Float32Array [m, dim] row-major, m >= 1
 */
export async function nearestSquaredL2Normalised(
  queries: Float32Array,
  memory: Float32Array,
  dim: number,
  threads: number,
  withIndex = false,
): Promise<NearestResult> {
  const n = queries.length / dim;
  const m = memory.length / dim;
  if (!Number.isInteger(n) || !Number.isInteger(m) || m < 1) throw new RangeError(`nearest: bad shapes n=${n} m=${m} dim=${dim}`);
  const s = await session(withIndex ? "nearest_with_index" : "nearest", () => nearestGraph(withIndex), threads);
  const norms = memorySquaredNorms(memory, dim);
  const minSquared = new Float32Array(n).fill(Number.POSITIVE_INFINITY);
  const index = withIndex ? new Int32Array(n) : null;
  const q = new ort.Tensor("float32", queries, [n, dim]);
  for (let start = 0; start < m; start += MEMORY_BLOCK) {
    const rows = min(MEMORY_BLOCK, m - start);
    const out = await s.run({
      queries: q,
      memory: new ort.Tensor("float32", memory.subarray(start * dim, (start + rows) * dim), [rows, dim]),
      memory_sq_norms: new ort.Tensor("float32", norms.subarray(start, start + rows), [rows]),
    });
    const blockMin = out.min_squared!.data as Float32Array;
    const blockArg = index ? (out.argmin!.data as BigInt64Array) : null;
    for (let i = 0; i < n; i++) {
      if (blockMin[i]! < minSquared[i]!) {
        minSquared[i] = blockMin[i]!;
        if (index) index[i] = start + Number(blockArg![i]!);
      }
    }
    for (const tensor of Object.values(out)) tensor.dispose();
  }
  return { minSquared, index };
}

/** a [n, k] x b [k, m] on onnxruntime; returns Float32Array [n, m]. */
export async function matmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number, threads: number): Promise<Float32Array> {
  const s = await session("matmul", matmulGraph, threads);
  const out = await s.run({ a: new ort.Tensor("float32", a, [n, k]), b: new ort.Tensor("float32", b, [k, m]) });
  return out.product!.data as Float32Array;
}

/**
 * block - (block done^T) done in float64 on onnxruntime: removes from each row of `block` [n, k]
 * its components along the (orthonormal) rows of `done` [m, k]. Returns Float64Array [n, k].
 */
export async function projectOut(block: Float64Array, done: Float64Array, n: number, m: number, k: number, threads: number): Promise<Float64Array> {
  const s = await session("project_out_f64", projectOutGraph, threads);
  const out = await s.run({ block: new ort.Tensor("float64", block, [n, k]), done: new ort.Tensor("float64", done, [m, k]) });
  return out.rest!.data as Float64Array;
}

/** a b^T on onnxruntime for a [n, k], b [m, k] row-major; returns Float32Array [n, m]. */
export async function matmulTransposedB(a: Float32Array, b: Float32Array, n: number, k: number, m: number, threads: number): Promise<Float32Array> {
  const s = await session("matmul_transposed_b", matmulTransposedBGraph, threads);
  const out = await s.run({ a: new ort.Tensor("float32", a, [n, k]), b: new ort.Tensor("float32", b, [m, k]) });
  return out.product!.data as Float32Array;
}

/** a^T b on onnxruntime for a [k, n], b [k, m] row-major; returns Float32Array [n, m]. */
export async function matmulTransposedA(a: Float32Array, b: Float32Array, k: number, n: number, m: number, threads: number): Promise<Float32Array> {
  const s = await session("matmul_transposed_a", matmulTransposedAGraph, threads);
  const out = await s.run({ a: new ort.Tensor("float32", a, [k, n]), b: new ort.Tensor("float32", b, [k, m]) });
  return out.product!.data as Float32Array;
}

export interface ShortlistInputs {
  /** Float32Array [dim]: the centre subtracted before projecting. */
  readonly mean: Float32Array;
  /** Float32Array [rank, dim]: orthonormal rows. */
  readonly basis: Float32Array;
  readonly rank: number;
  /** Float32Array [rows, rank + 1]: each memory row's projection and residual norm. */
  readonly memoryAug: Float32Array;
  /** Float32Array [rows]: squared norms of memoryAug's rows. */
  readonly memoryAugSqNorms: Float32Array;
}

export interface ShortlistBlock {
  /** Float32Array [n, k] ascending per query: lower bounds on the squared distance. */
  readonly lowerBounds: Float32Array;
  /** Int32Array [n, k]: rows of the block (0-based within the block). */
  readonly candidates: Int32Array;
  readonly k: number;
  /** Float32Array [n]: |q'|^2, each query's squared norm once centred. */
  readonly querySquared: Float32Array;
}

/**
 * Queries [n, dim] (any norm) as stage 1 takes them: q / max(|q|, 1e-12) - mean, computed in float64
 * and rounded once to float32, so that its error is proportional to the centred query itself (as
 * the bounds' margin assumes). Normalising in float32 first errs by ~6e-8 of |q| = 1, which
 * dominates when the bank's rows lie within ~1e-3 of their mean.
 */
export function centredQueries(queries: Float32Array, dim: number, mean: Float32Array): Float32Array {
  const out = new Float32Array(queries.length);
  for (let base = 0; base < queries.length; base += dim) {
    let qq = 0;
    for (let d = base; d < base + dim; d++) qq += queries[d]! * queries[d]!;
    const inv = 1 / Math.max(Math.sqrt(qq), 1e-12);
    for (let d = 0; d < dim; d++) out[base + d] = queries[base + d]! * inv - mean[d]!;
  }
  return out;
}

/**
 * First stage of the two-stage search, over memory rows [start, start + rows) of `inputs`: for each
 * query (`centredQueries`) the k rows with the smallest lower bound on the squared distance (shortlistGraph).
 */
export async function shortlist(
  centred: Float32Array,
  dim: number,
  inputs: ShortlistInputs,
  start: number,
  rows: number,
  k: number,
  threads: number,
): Promise<ShortlistBlock> {
  const n = centred.length / dim;
  const r1 = inputs.rank + 1;
  const kk = min(k, rows);
  const s = await session("two_stage_shortlist", shortlistGraph, threads);
  const out = await s.run({
    centred_queries: new ort.Tensor("float32", centred, [n, dim]),
    basis: new ort.Tensor("float32", inputs.basis, [inputs.rank, dim]),
    memory_aug: new ort.Tensor("float32", inputs.memoryAug.subarray(start * r1, (start + rows) * r1), [rows, r1]),
    memory_aug_sq_norms: new ort.Tensor("float32", inputs.memoryAugSqNorms.subarray(start, start + rows), [rows]),
    k: new ort.Tensor("int64", BigInt64Array.of(BigInt(kk)), [1]),
  });
  return {
    lowerBounds: out.lower_bounds!.data as Float32Array,
    candidates: out.candidates!.data as Int32Array,
    k: kk,
    querySquared: out.query_aug_sq!.data as Float32Array,
  };
}

/**
 * Rows `rows` of `memory` [m, dim] as the two-stage search keeps them (memoryAugGraph): Float32Array
 * [rows.length, rank + 1] and their squared norms [rows.length].
 */
export async function memoryAugRows(
  memory: Float32Array,
  dim: number,
  rows: Int32Array,
  mean: Float32Array,
  basis: Float32Array,
  rank: number,
  threads: number,
): Promise<{ aug: Float32Array; augSquared: Float32Array }> {
  const s = await session("two_stage_memory_aug", memoryAugGraph, threads);
  const out = await s.run({
    memory: new ort.Tensor("float32", memory, [memory.length / dim, dim]),
    rows: new ort.Tensor("int32", rows, [rows.length]),
    mean: new ort.Tensor("float32", mean, [1, dim]),
    basis: new ort.Tensor("float32", basis, [rank, dim]),
  });
  return { aug: out.memory_aug!.data as Float32Array, augSquared: out.memory_aug_sq_norms!.data as Float32Array };
}

/** ||B B^T - I||_F of `basis` [rank, dim] (rows), in float64 (basisDeviationGraph). */
export async function basisDeviationF64(basis: Float32Array, rank: number, dim: number, threads: number): Promise<number> {
  const s = await session("basis_deviation", basisDeviationGraph, threads);
  const out = await s.run({ basis: new ort.Tensor("float32", basis, [rank, dim]) });
  return Math.sqrt((out.squared!.data as Float64Array)[0]!);
}

/**
 * Dot products of each L2-normalised query with its first candidate rows (candidateDotsGraph), on
 * onnxruntime: float32, for ordering and pruning; the two-stage search recomputes the nearest in float64.
 * @param candidates Int32Array [n, e]: shortlist rows, mapped to bank rows by `bankRows`
 */
export async function candidateDots(
  queries: Float32Array,
  dim: number,
  memory: Float32Array,
  bankRows: Int32Array,
  candidates: Int32Array,
  e: number,
  threads: number,
): Promise<Float32Array> {
  const n = queries.length / dim;
  const s = await session("candidate_dots", candidateDotsGraph, threads);
  const out = await s.run({
    queries: new ort.Tensor("float32", queries, [n, dim]),
    memory: new ort.Tensor("float32", memory, [memory.length / dim, dim]),
    bank_rows: new ort.Tensor("int32", bankRows, [bankRows.length]),
    candidates: new ort.Tensor("int32", candidates, [n, e]),
  });
  return out.dots!.data as Float32Array;
}

/**
 * Separable convolution of `map` (Float32Array [height, width]) with the symmetric 1-D `kernel`
 * along both axes, reflect-101 border, on onnxruntime. Needs width and height > kernel radius.
 */
export async function separableBlur(map: Float32Array, width: number, height: number, kernel: Float32Array, threads: number): Promise<Float32Array> {
  const r = (kernel.length - 1) / 2;
  const s = await session("separable_blur", separableBlurGraph, threads);
  const out = await s.run({
    map: new ort.Tensor("float32", map, [1, 1, height, width]),
    row_kernel: new ort.Tensor("float32", kernel, [1, 1, 1, kernel.length]),
    column_kernel: new ort.Tensor("float32", kernel, [1, 1, kernel.length, 1]),
    pads: new ort.Tensor("int64", BigInt64Array.from([0, 0, r, r, 0, 0, r, r].map(BigInt)), [8]),
  });
  return out.blurred!.data as Float32Array;
}

/**
 * k-center greedy picks over `points` (Float32Array [n, p]) from row `start`: each step is one
 * onnxruntime run of greedyStepGraph (a GEMV and an ArgMax, multi-threaded), ~5x faster than the
 * scalar loop for 20k x 128. Returns the picked rows in order and the covering radius
 * (Euclidean, in this space) after each pick. `initialMinSquared` [n]: each point's squared
 * distance to centres chosen before (a seeded start; `start` should then be its argmax).
 */
export async function kCenterGreedyPicks(
  points: Float32Array,
  n: number,
  p: number,
  k: number,
  start: number,
  threads: number,
  initialMinSquared?: Float32Array,
): Promise<{ indices: Int32Array; radii: Float32Array }> {
  const s = await session("k_center_greedy_step", greedyStepGraph, threads);
  const norms = memorySquaredNorms(points, p);
  const pointsTensor = new ort.Tensor("float32", points, [n, p]);
  const normsTensor = new ort.Tensor("float32", norms, [n]);
  let minSquared: Float32Array = initialMinSquared ? initialMinSquared.slice() : new Float32Array(n).fill(Number.POSITIVE_INFINITY);
  const indices = new Int32Array(k);
  const radii = new Float32Array(k);
  let next = start;
  for (let j = 0; j < k; j++) {
    indices[j] = next;
    const out = await s.run({
      points: pointsTensor,
      point_sq_norms: normsTensor,
      centre: new ort.Tensor("float32", points.slice(next * p, next * p + p), [1, p]),
      centre_sq: new ort.Tensor("float32", Float32Array.of(norms[next]!), [1]),
      min_squared: new ort.Tensor("float32", minSquared, [n]),
    });
    minSquared = out.new_min_squared!.data as Float32Array;
    next = Number((out.farthest!.data as BigInt64Array)[0]!);
    radii[j] = Math.sqrt(Math.max(0, minSquared[next]!));
  }
  return { indices, radii };
}
