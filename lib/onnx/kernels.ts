import * as ort from "onnxruntime-node";
import { GraphBuilder } from "./graphBuilder";

/**
 * Small numeric kernels as ONNX graphs, run by onnxruntime: its blocked, multi-threaded GEMM is
 * ~100x faster than scalar JavaScript for the [n, D] x [D, m] products PatchCore needs
 * (1024 x 10000 x 384 in ~37 ms on 2 cores, TOOLCHAIN.md). Sessions are created once per
 * process and thread count.
 */

/** queries [n, D], memory [m, D] -> min squared L2 over memory rows [n] and its row index [n]. */
function nearestGraph(): Uint8Array {
  const b = new GraphBuilder("nearest_squared_l2");
  const q = b.input("queries", ["n", "dim"]);
  const m = b.input("memory", ["m", "dim"]);
  const dot = b.op("Gemm", [q, m], { transB: 1, alpha: { float: -2 } }); // -2 q.m  [n, m]
  const axes1 = b.int64s("axes", [1]);
  const qNorm = b.op("ReduceSum", [b.op("Mul", [q, q]), axes1], { keepdims: 1 }); // [n, 1]
  const mNorm = b.op("ReduceSum", [b.op("Mul", [m, m]), axes1], { keepdims: 0 }); // [m]
  const squared = b.op("Add", [b.op("Add", [dot, qNorm]), mNorm]); // ||q||^2 + ||m||^2 - 2 q.m
  b.expose(b.op("ReduceMin", [squared, axes1], { keepdims: 0 }), "min_squared", ["n"]);
  b.expose(b.op("ArgMin", [squared], { axis: 1, keepdims: 0, select_last_index: 0 }), "argmin", ["n"], GraphBuilder.INT64);
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

const sessions = new Map<string, Promise<ort.InferenceSession>>();

function session(name: string, build: () => Uint8Array, threads: number): Promise<ort.InferenceSession> {
  const key = `${name}/${threads}`;
  let created = sessions.get(key);
  if (!created) {
    created = ort.InferenceSession.create(build(), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all" });
    created.catch(() => sessions.delete(key));
    sessions.set(key, created);
  }
  return created;
}

export interface NearestResult {
  /** Float32Array [n]: squared L2 distance to the nearest memory row (may be slightly < 0 from rounding). */
  readonly minSquared: Float32Array;
  /** Int32Array [n]: index of that memory row. */
  readonly index: Int32Array;
}

/** Rows of memory per ONNX run: bounds the [n, block] distance matrix (1024 x 16384 floats = 64 MB). */
const MEMORY_BLOCK = 16384;

/**
 * Exact nearest neighbour by squared Euclidean distance, brute force on onnxruntime.
 * @param queries Float32Array [n, dim] row-major
 * @param memory  Float32Array [m, dim] row-major, m >= 1
 */
export async function nearestSquaredL2(queries: Float32Array, memory: Float32Array, dim: number, threads: number): Promise<NearestResult> {
  const n = queries.length / dim;
  const m = memory.length / dim;
  if (!Number.isInteger(n) || !Number.isInteger(m) || m < 1) throw new RangeError(`nearestSquaredL2: bad shapes n=${n} m=${m} dim=${dim}`);
  const s = await session("nearest", nearestGraph, threads);
  const minSquared = new Float32Array(n).fill(Number.POSITIVE_INFINITY);
  const index = new Int32Array(n);
  const q = new ort.Tensor("float32", queries, [n, dim]);
  for (let start = 0; start < m; start += MEMORY_BLOCK) {
    const rows = Math.min(MEMORY_BLOCK, m - start);
    const block = new ort.Tensor("float32", memory.subarray(start * dim, (start + rows) * dim), [rows, dim]);
    const out = await s.run({ queries: q, memory: block });
    const blockMin = out.min_squared!.data as Float32Array;
    const blockArg = out.argmin!.data as BigInt64Array;
    for (let i = 0; i < n; i++) {
      if (blockMin[i]! < minSquared[i]!) {
        minSquared[i] = blockMin[i]!;
        index[i] = start + Number(blockArg[i]!);
      }
    }
    out.min_squared!.dispose();
    out.argmin!.dispose();
  }
  return { minSquared, index };
}

/** a [n, k] x b [k, m] on onnxruntime; returns Float32Array [n, m]. */
export async function matmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number, threads: number): Promise<Float32Array> {
  const s = await session("matmul", matmulGraph, threads);
  const out = await s.run({ a: new ort.Tensor("float32", a, [n, k]), b: new ort.Tensor("float32", b, [k, m]) });
  return out.product!.data as Float32Array;
}
