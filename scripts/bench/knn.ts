import path from "node:path";
import * as ort from "onnxruntime-node";
import { embedImages } from "../../lib/features/embed";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { decodeImage } from "../../lib/image/decode";
import { GraphBuilder } from "../../lib/onnx/graphBuilder";
import { nearestSquaredL2Normalised } from "../../lib/onnx/kernels";
import { NO_SPINNING } from "../../lib/onnx/sessionOptions";
import { ExactScorer } from "../../lib/patchcore/knn/exact";
import { DEFAULT_HNSW, HnswScorer } from "../../lib/patchcore/knn/hnsw";
import { DEFAULT_TWO_STAGE, TwoStageScorer, type TwoStageParams, type TwoStageStats } from "../../lib/patchcore/knn/twoStage";
import type { MemoryBank } from "../../lib/patchcore/memoryBank";
import { percentile } from "../../lib/patchcore/percentile";
import { concatRows, l2NormalizeRows } from "../../lib/patchcore/vectors";
import { clusteredRows } from "../synthetic/clustered";
import { benchDefect, benchImages } from "./benchImages";
import { ms, summarise } from "./stats";

/** How a search's answers compare with brute force, per patch and for the image score. */
export interface Agreement {
  /** Fraction of patches whose distance equals the reference to float32 resolution (1e-7 relative, or 1e-9 absolute). */
  equal: number;
  /** Largest relative difference of a patch distance from the reference. */
  maxRel: number;
  /** Relative difference of the image score (99th percentile of the patch distances). */
  scoreRel: number;
  /** Largest relative difference from the exact scorer's own (float32) distances. */
  maxRelToExact: number;
}

export interface MethodRow {
  method: string;
  ms: number;
  agreement?: Agreement;
  stats?: TwoStageStats;
  buildMs?: number;
  note?: string;
}

export interface KnnRow {
  data: string;
  dim: number;
  bank: number;
  exactMs: number;
  methods: MethodRow[];
}

const { abs, max, sqrt } = Math;

/**
 * Reference distances for agreement: brute force's answer in float64. The exact scorer (float32
 * onnxruntime brute force) names each query's nearest row; its float64 distance, or that of the
 * row a method names if smaller (a float32 near-tie), is the reference.
 */
function float64Distance(queries: Float32Array, i: number, memory: Float32Array, row: number, dim: number): number {
  let qq = 0;
  for (let d = 0; d < dim; d++) qq += queries[i * dim + d]! ** 2;
  const inv = 1 / max(sqrt(qq), 1e-12);
  let s = 0;
  for (let d = 0; d < dim; d++) s += (queries[i * dim + d]! * inv - memory[row * dim + d]!) ** 2;
  return s;
}

function agreement(
  found: Float64Array | Float32Array,
  foundRows: Int32Array | null,
  reference: Float64Array,
  exactDistances: Float32Array,
  queries: Float32Array,
  memory: Float32Array,
  dim: number,
): Agreement {
  const n = reference.length;
  let equal = 0;
  let maxRel = 0;
  let maxRelToExact = 0;
  const ref = new Float32Array(n);
  const got = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let r = reference[i]!;
    if (foundRows) r = Math.min(r, float64Distance(queries, i, memory, foundRows[i]!, dim));
    const t = sqrt(max(r, 0));
    const d = found instanceof Float64Array ? sqrt(max(found[i]!, 0)) : found[i]!;
    const rel = abs(d - t) / max(t, 1e-12);
    if (rel <= 1e-7 || abs(d - t) <= 1e-9) equal++;
    maxRel = max(maxRel, t < 1e-6 ? abs(d - t) : rel);
    maxRelToExact = max(maxRelToExact, abs(d - exactDistances[i]!) / max(exactDistances[i]!, 1e-6));
    ref[i] = t;
    got[i] = d;
  }
  const score = percentile(ref, 99);
  return { equal: equal / n, maxRel, scoreRel: abs(percentile(got, 99) - score) / score, maxRelToExact };
}

/** Round-robin timing: each method once per round, `rounds` rounds after one warm-up; p50 per method. */
async function interleaved(methods: Record<string, () => Promise<unknown>>, rounds: number): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (let round = 0; round <= rounds; round++) {
    for (const [name, run] of Object.entries(methods)) {
      const start = performance.now();
      await run();
      if (round > 0) (samples[name] ??= []).push(performance.now() - start);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, v]) => [name, summarise(v).p50]));
}

/**
 * An alternative measured and not taken: an int8 shortlist, as on a VNNI CPU. Queries quantised
 * at run time (DynamicQuantizeLinear, uint8), the bank once to int8 (one scale, 7-bit range),
 * MatMulInteger over all D = 1152 dimensions, TopK 32 of the int32 dot products. Only its cost is
 * measured (and how often the true nearest row is among its 32): its error has no rigorous bound
 * (Cauchy-Schwarz gives ~0.02 on a squared distance whose nearest-neighbour gaps are ~0.002), so
 * it could only shortlist for an exact re-rank without a certificate.
 */
function int8ShortlistGraph(k: number): Uint8Array {
  const b = new GraphBuilder("int8_shortlist");
  const q = b.input("queries", ["n", "dim"]);
  const m = b.input("memory_t", ["dim", "m"], 3 /* INT8 */);
  const [qq, , zero] = b.node("DynamicQuantizeLinear", [q], {}, 3);
  const dots = b.op("MatMulInteger", [qq!, m, zero!]);
  const [, indices] = b.node("TopK", [dots, b.int64s("k", [k])], { axis: 1, largest: 1, sorted: 1 }, 2);
  b.expose(b.op("Cast", [indices!], { to: GraphBuilder.INT32 }), "candidates", ["n", k], GraphBuilder.INT32);
  return b.encode(18, "bench/int8_shortlist");
}

async function int8Shortlist(memory: Float32Array, dim: number, threads: number): Promise<(queries: Float32Array) => Promise<Int32Array>> {
  const m = memory.length / dim;
  let largest = 0;
  for (let i = 0; i < memory.length; i++) largest = max(largest, abs(memory[i]!));
  const scale = largest / 63;
  const transposed = new Int8Array(dim * m);
  for (let r = 0; r < m; r++) for (let d = 0; d < dim; d++) transposed[d * m + r] = Math.round(memory[r * dim + d]! / scale);
  const session = await ort.InferenceSession.create(int8ShortlistGraph(32), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    extra: NO_SPINNING,
  });
  const memoryTensor = new ort.Tensor("int8", transposed, [dim, m]);
  return async (queries) => {
    const out = await session.run({ queries: new ort.Tensor("float32", queries, [queries.length / dim, dim]), memory_t: memoryTensor });
    return out.candidates!.data as Int32Array;
  };
}

/** ViT-S/14-shaped features (random weights) of the bench images: the bank rows (L2-normalised) and one defect image's patches. */
export async function vitFeatures(modelDir: string, images: number): Promise<{ bank: Float32Array; queries: Float32Array; dim: number }> {
  const extractor = await OnnxFeatureExtractor.load({
    onnxPath: path.join(modelDir, "vit-s14-shape.onnx"),
    cardPath: path.join(modelDir, "vit-s14-shape.card.json"),
    inputSize: 448,
    threads: 2,
  });
  const decoded = await Promise.all((await benchImages(images, 100)).map((j) => decodeImage(j, 1 << 26)));
  const embedded = await embedImages(extractor, decoded, { batchSize: 2 });
  const bank = l2NormalizeRows(concatRows(embedded.map((e) => e.grid.embeddings)), embedded[0]!.grid.dim);
  const [query] = await embedImages(extractor, [await decodeImage(await benchDefect(7), 1 << 26)]);
  await extractor.release();
  return { bank, queries: query!.grid.embeddings, dim: query!.grid.dim };
}

/**
 * Exact (onnxruntime brute force) vs the two-stage search, its alternatives (other ranks, no
 * onnxruntime dot products, an int8 shortlist) and, on clustered data up to 10k rows, HNSW; 1024
 * queries, all timed round-robin in one process so they see the same machine load.
 */
export async function benchKnn(options: {
  modelDir: string;
  clusteredDims: number[];
  clusteredBanks: number[];
  vitBanks: number[];
  threads: number;
  runs: number;
  efs: number[];
}): Promise<KnnRow[]> {
  const rows: KnnRow[] = [];
  const rounds = Math.max(3, options.runs >> 2);
  const sets: { data: string; dim: number; bank: number; embeddings: Float32Array; queries: Float32Array }[] = [];
  const largestVit = Math.max(0, ...options.vitBanks);
  if (largestVit > 0) {
    const vit = await vitFeatures(options.modelDir, Math.ceil(largestVit / 1024));
    for (const size of options.vitBanks)
      sets.push({ data: "ViT-S/14-shaped features", dim: vit.dim, bank: size, embeddings: vit.bank.subarray(0, size * vit.dim), queries: vit.queries });
  }
  for (const dim of options.clusteredDims) {
    for (const size of options.clusteredBanks) {
      const clusters = Math.max(8, Math.round(size / 100));
      sets.push({
        data: "clustered",
        dim,
        bank: size,
        embeddings: clusteredRows(size, dim, clusters, 0.6, 2),
        queries: clusteredRows(1024, dim, clusters, 0.6, 3),
      });
    }
  }

  for (const { data, dim, bank: size, embeddings, queries } of sets) {
    const bank: MemoryBank = { embeddings, count: size, dim, tokenH: 32, tokenW: 32, metadata: {} };
    const exact = new ExactScorer(bank, options.threads);
    const truth = await nearestSquaredL2Normalised(queries, embeddings, dim, options.threads, true);
    const reference = Float64Array.from({ length: truth.index!.length }, (_, i) => float64Distance(queries, i, embeddings, truth.index![i]!, dim));
    const exactDistances = await exact.distances(queries);

    const chosen = DEFAULT_TWO_STAGE;
    const variants: { name: string; params: TwoStageParams }[] = [{ name: `two-stage (rank ${chosen.rank}, the product's)`, params: chosen }];
    if (data !== "clustered" || dim === 1152) {
      for (const rank of [64, 96, 128, 192, 256])
        if (rank !== chosen.rank && rank < dim) variants.push({ name: `two-stage rank ${rank}`, params: { ...chosen, rank } });
      variants.push({ name: `two-stage rank ${chosen.rank}, re-rank in JS only`, params: { ...chosen, gathered: 0 } });
    }
    const methods: Record<string, () => Promise<unknown>> = { exact: () => exact.distances(queries) };
    const built: { name: string; scorer: TwoStageScorer; buildMs: number }[] = [];
    for (const { name, params } of variants) {
      const start = performance.now();
      const scorer = await TwoStageScorer.build(bank, options.threads, params);
      built.push({ name, scorer, buildMs: performance.now() - start });
      methods[name] = () => scorer.search(queries);
    }
    let int8: ((q: Float32Array) => Promise<Int32Array>) | null = null;
    if (dim === 1152) {
      int8 = await int8Shortlist(embeddings, dim, options.threads);
      methods["int8 shortlist (MatMulInteger, D=1152, TopK 32; cost of stage 1 only)"] = () => int8!(queries);
    }
    const timing = await interleaved(methods, rounds);

    const methodRows: MethodRow[] = [
      // the exact path's own agreement with float64 brute force (float32 rounding of |q|^2 - 2 q.m + |m|^2)
      {
        method: "exact (onnxruntime, float32): the path before",
        ms: timing.exact!,
        agreement: agreement(exactDistances, truth.index, reference, exactDistances, queries, embeddings, dim),
      },
    ];
    for (const { name, scorer, buildMs } of built) {
      const found = await scorer.search(queries);
      methodRows.push({
        method: name,
        ms: timing[name]!,
        buildMs,
        stats: scorer.lastStats,
        agreement: agreement(found.squared, found.index, reference, exactDistances, queries, embeddings, dim),
        ...(scorer.kind === "exact" ? { note: "bounds too loose for these queries: scored by brute force (kind exact)" } : {}),
      });
    }
    if (int8) {
      const candidates = await int8(queries);
      let contains = 0;
      for (let i = 0; i < queries.length / dim; i++) if (candidates.subarray(i * 32, i * 32 + 32).includes(truth.index![i]!)) contains++;
      const name = "int8 shortlist (MatMulInteger, D=1152, TopK 32; cost of stage 1 only)";
      methodRows.push({
        method: name,
        ms: timing[name]!,
        note: `true nearest among its 32: ${((contains / (queries.length / dim)) * 100).toFixed(2)} % (no certificate)`,
      });
    }
    if (data === "clustered" && size <= 10000) {
      const start = performance.now();
      const hnsw = HnswScorer.build(bank, DEFAULT_HNSW);
      const buildMs = performance.now() - start;
      for (const ef of options.efs) {
        hnsw.setEf(ef);
        const t = summarise(await measureOnce(rounds, () => hnsw.distances(queries))).p50;
        const approx = await hnsw.distances(queries);
        const nearest = hnsw.nearestIndices(queries);
        let hits = 0;
        for (let i = 0; i < nearest.length; i++) if (nearest[i] === truth.index![i]) hits++;
        methodRows.push({
          method: `HNSW ef ${ef} (approximate)`,
          ms: t,
          buildMs,
          agreement: agreement(approx, null, reference, exactDistances, queries, embeddings, dim),
          note: `recall@1 ${((hits / nearest.length) * 100).toFixed(1)} %`,
        });
      }
    }
    rows.push({ data, dim, bank: size, exactMs: timing.exact!, methods: methodRows });
  }
  return rows;
}

async function measureOnce(runs: number, work: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  await work();
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    samples.push(performance.now() - start);
  }
  return samples;
}

export function knnTable(rows: readonly KnnRow[]): string {
  const lines = [
    "### Nearest neighbour: 1024 queries (one image's patches), ms p50; all methods of a row timed round-robin in one process",
    "",
    "Agreement with brute force (float64 distance of the exact graph's nearest row): share of patches equal to float32 resolution, largest relative error of a patch distance, relative error of the image score (99th percentile). " +
      "Two-stage stages: shortlist (onnxruntime) / dot products of the first candidates (onnxruntime) / re-rank (JavaScript) / brute force for uncertified queries, ms of the last call.",
    "",
    "| data | D | bank | exact (ORT) | method | ms | x exact | equal | max patch err | score err | build ms | evaluations per query (ORT dots + float64); uncertified; stages |",
    "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    for (const m of r.methods) {
      const a = m.agreement;
      const s = m.stats;
      const detail = s
        ? `${(s.gatheredEvaluations / s.queries).toFixed(1)} + ${(s.exactEvaluations / s.queries).toFixed(2)}; ${s.fallbackQueries}; ${ms(s.shortlistMs)} / ${ms(s.gatherMs)} / ${ms(s.rerankMs)} / ${ms(s.fallbackMs)}`
        : (m.note ?? "");
      lines.push(
        `| ${r.data} | ${r.dim} | ${r.bank} | ${ms(r.exactMs)} | ${m.method} | ${ms(m.ms)} | ${(r.exactMs / m.ms).toFixed(2)} | ` +
          `${a ? (a.equal * 100).toFixed(2) + " %" : ""} | ${a ? a.maxRel.toExponential(1) : ""} | ${a ? a.scoreRel.toExponential(1) : ""} | ${m.buildMs === undefined ? "" : ms(m.buildMs)} | ${detail}${s && m.note ? "; " + m.note : ""} |`,
      );
    }
  }
  return lines.join("\n");
}
