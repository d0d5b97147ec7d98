import path from "node:path";
import { embedImages } from "../../lib/features/embed";
import { basisDeviationF64, centredQueries, memoryAugRows, shortlist } from "../../lib/onnx/kernels";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { decodeImage } from "../../lib/image/decode";
import type { MemoryBank } from "../../lib/patchcore/memoryBank";
import { ExactScorer } from "../../lib/patchcore/knn/exact";
import { knnPlan, TWO_STAGE_MIN_DIM, TWO_STAGE_MIN_ROWS } from "../../lib/patchcore/knn/select";
import { MAX_BASIS_DEVIATION, orthonormalRows, type ShortlistBasis } from "../../lib/patchcore/knn/shortlistBasis";
import { DEFAULT_TWO_STAGE, distinctRows, findBankBasis, LOWER_BOUND_MARGIN, TwoStageScorer, type TwoStageParams } from "../../lib/patchcore/knn/twoStage";
import { percentile } from "../../lib/patchcore/percentile";
import { concatRows, l2NormalizeRows } from "../../lib/patchcore/vectors";
import { SeededRandom } from "../../lib/random";
import { benchDefect, benchImages } from "../../scripts/bench/benchImages";
import { clusteredRows, lowRankClusteredRows } from "../../scripts/synthetic/clustered";
import { PROJECT_ROOT } from "../helpers/testStack";

const { abs, max, sqrt } = Math;

interface Truth {
  /** Nearest squared distance of each query, float64. */
  readonly squared: Float64Array;
  /** Squared distance of query i to memory row j, float64. */
  readonly distance: (i: number, j: number) => number;
}

/** Brute force in float64, the queries normalised as the scorers do (q / max(|q|, 1e-12)). */
function bruteForce(queries: Float32Array, memory: Float32Array, dim: number): Truth {
  const n = queries.length / dim;
  const m = memory.length / dim;
  const units = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let qq = 0;
    for (let d = 0; d < dim; d++) qq += queries[i * dim + d]! ** 2;
    const inv = 1 / max(sqrt(qq), 1e-12);
    for (let d = 0; d < dim; d++) units[i * dim + d] = queries[i * dim + d]! * inv;
  }
  const distance = (i: number, j: number) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (units[i * dim + d]! - memory[j * dim + d]!) ** 2;
    return s;
  };
  const squared = new Float64Array(n).fill(Infinity);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) squared[i] = Math.min(squared[i]!, distance(i, j));
  return { squared, distance };
}

const bankOf = (embeddings: Float32Array, dim: number): MemoryBank => ({
  embeddings,
  count: embeddings.length / dim,
  dim,
  tokenH: 32,
  tokenW: 32,
  metadata: {},
});

/**
 * The issue's accuracy criteria, held to float64 brute force: the nearest distance equal (to float64
 * rounding) on >= 99.9 % of patches and within 1e-5 relative on all; the image score (99th
 * percentile of the patch distances) equal to 1e-6 relative. The two-stage search computes its
 * distances in float64, so "equal" here is 1e-7 relative, float32's resolution: a query the
 * shortlist cannot certify is searched by the exact float32 graph, which cannot tell apart two rows
 * closer than that (a tie, for every purpose), and then gets the float64 distance of the row it chose.
 */
function expectSameAnswers(found: { squared: Float64Array; index: Int32Array }, truth: Truth): void {
  const n = truth.squared.length;
  let equal = 0;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const d = sqrt(max(found.squared[i]!, 0));
    const t = sqrt(max(truth.squared[i]!, 0));
    const relative = abs(d - t) / max(t, 1e-12);
    worst = max(worst, t < 1e-6 ? abs(d - t) : relative);
    if (relative <= 1e-7 || abs(d - t) <= 1e-9) equal++;
    // the row it names is at the distance it reports (with ties, any of the nearest rows will do)
    expect(abs(truth.distance(i, found.index[i]!) - found.squared[i]!)).toBeLessThanOrEqual(1e-12 + 1e-12 * truth.squared[i]!);
  }
  expect(equal / n).toBeGreaterThanOrEqual(0.999);
  expect(worst).toBeLessThanOrEqual(1e-5);
  const score = (squared: Float64Array) =>
    percentile(
      Float32Array.from(squared, (s) => sqrt(max(s, 0))),
      99,
    );
  expect(abs(score(found.squared) - score(truth.squared)) / score(truth.squared)).toBeLessThanOrEqual(1e-6);
}

describe("two-stage nearest neighbour vs brute force", () => {
  it.each([
    // a decaying spectrum, like real patch features: the shortlist certifies (almost) every query
    ["low-rank clustered 1152-d, 3000 rows", 3000, 1152, 42, 0.6, 96, 160, "two_stage"],
    ["low-rank clustered 384-d, 4000 rows", 4000, 384, 30, 0.5, 64, 96, "two_stage"],
    ["low-rank clustered 108-d, 5000 rows", 5000, 108, 50, 0.6, 24, 48, "two_stage"],
    // isotropic noise (clusteredRows): the bounds are loose, the call is brute force
    ["isotropic clustered 1152-d, 3000 rows", 3000, 1152, 42, 0.6, 0, 160, "exact"],
    ["isotropic clustered 384-d, 4000 rows, tight clusters", 4000, 384, 30, 0.25, 0, 160, "exact"],
  ] as const)("%s: the brute-force answer on every query", async (_name, rows, dim, clusters, spread, noiseRank, rank, kind) => {
    const data = (n: number, seed: number) =>
      noiseRank > 0 ? lowRankClusteredRows(n, dim, clusters, spread, noiseRank, seed) : clusteredRows(n, dim, clusters, spread, seed);
    const memory = data(rows, 2);
    const queries = data(dim > 500 ? 128 : 256, 3);
    const scorer = await TwoStageScorer.build(bankOf(memory, dim), 2, { ...DEFAULT_TWO_STAGE, rank });
    const found = await scorer.search(queries);
    expect(scorer.kind).toBe(kind);
    if (kind === "two_stage") expect(scorer.lastStats.fallbackQueries).toBeLessThanOrEqual(queries.length / dim / 20);
    expectSameAnswers(found, bruteForce(queries, memory, dim));
    // and the distances it returns are the exact scorer's (onnxruntime, float32) to float32 rounding
    const exact = await new ExactScorer(bankOf(memory, dim), 2).distances(queries);
    const distances = await scorer.distances(queries);
    for (let i = 0; i < exact.length; i++) expect(abs(distances[i]! - exact[i]!) / exact[i]!).toBeLessThan(1e-5);
  });

  it.each([
    ["rank >= dim (the bounds are the distances)", 160],
    ["rank < dim, an ill-conditioned basis to find", 40],
  ])("stays exact on near-copies (nearest distances ~1e-3, below the float32 graph's resolution): %s", async (_name, rank) => {
    const dim = 108;
    const memory = lowRankClusteredRows(6000, dim, 8, 0.005, 20, 41, 1, 0.0003);
    const queries = lowRankClusteredRows(200, dim, 8, 0.005, 20, 42, 1, 0.0003);
    const scorer = await TwoStageScorer.build(bankOf(memory, dim), 2, { ...DEFAULT_TWO_STAGE, rank });
    const found = await scorer.search(queries);
    const truth = bruteForce(queries, memory, dim);
    expect(Math.sqrt(percentile(Float32Array.from(truth.squared), 50))).toBeLessThan(1e-2);
    expectSameAnswers(found, truth);
  });

  it("stays exact on the offline texture model's features of the bench images (near-copies: nearest distances ~5e-3)", async () => {
    const extractor = await OnnxFeatureExtractor.load({
      onnxPath: path.join(PROJECT_ROOT, "layers/runtime/models/texture-s14.onnx"),
      cardPath: path.join(PROJECT_ROOT, "layers/runtime/models/texture-s14.card.json"),
      inputSize: 448,
      threads: 2,
    });
    const decoded = await Promise.all((await benchImages(10, 100)).map((j) => decodeImage(j, 1 << 26)));
    const embedded = await embedImages(extractor, decoded, { batchSize: 5 });
    const dim = embedded[0]!.grid.dim;
    const memory = l2NormalizeRows(concatRows(embedded.map((e) => e.grid.embeddings)), dim);
    const [query] = await embedImages(extractor, [await decodeImage(await benchDefect(7), 1 << 26)]);
    await extractor.release();
    const queries = query!.grid.embeddings.slice(0, 512 * dim);
    const truth = bruteForce(queries, memory, dim);
    for (const rank of [160, 64]) {
      const scorer = await TwoStageScorer.build(bankOf(memory, dim), 2, { ...DEFAULT_TWO_STAGE, rank });
      expectSameAnswers(await scorer.search(queries), truth);
    }
  });

  it("orthonormalises ill-conditioned rows (singular values from 1 to 1e-9) to float32 precision", async () => {
    const rng = new SeededRandom(3);
    const count = 96;
    const dim = 256;
    const scaled = rng.fillNormal(new Float32Array(count * dim), 1);
    for (let r = 0; r < count; r++) for (let d = 0; d < dim; d++) scaled[r * dim + d]! *= Math.pow(1e-9, r / count);
    const mixed = new Float32Array(count * dim);
    for (let r = 0; r < count; r++)
      for (let k = 0; k < count; k++) {
        const w = rng.normal();
        for (let d = 0; d < dim; d++) mixed[r * dim + d]! += w * scaled[k * dim + d]!;
      }
    const q = await orthonormalRows(mixed, count, dim, rng, 2);
    let worst = 0;
    for (let i = 0; i < count; i++)
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let d = 0; d < dim; d++) s += q[i * dim + d]! * q[j * dim + d]!;
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
    expect(worst).toBeLessThan(1e-6);
  });

  it("stays exact when the shortlist is far too short: those queries fall back to brute force", async () => {
    const dim = 256;
    const memory = lowRankClusteredRows(3000, dim, 20, 0.6, 24, 5);
    const queries = lowRankClusteredRows(200, dim, 20, 0.6, 24, 6);
    const params: TwoStageParams = { ...DEFAULT_TWO_STAGE, rank: 16, shortlist: 3, gathered: 2 };
    const scorer = await TwoStageScorer.build(bankOf(memory, dim), 1, params);
    const found = await scorer.search(queries);
    expect(scorer.lastStats.fallbackQueries).toBeGreaterThan(0);
    expectSameAnswers(found, bruteForce(queries, memory, dim));
  });

  it("scores a bank with no low-rank structure by brute force, says so in kind, and tries the shortlist again later", async () => {
    const dim = 512;
    const rng = new SeededRandom(31);
    const memory = l2NormalizeRows(rng.fillNormal(new Float32Array(3000 * dim), 1), dim); // isotropic: every bound is loose
    const queries = l2NormalizeRows(rng.fillNormal(new Float32Array(100 * dim), 1), dim);
    const scorer = await TwoStageScorer.build(bankOf(memory, dim), 2, { ...DEFAULT_TWO_STAGE, rank: 32 });
    expect(scorer.kind).toBe("two_stage");
    const truth = bruteForce(queries, memory, dim);
    expectSameAnswers(await scorer.search(queries), truth);
    expect(scorer.kind).toBe("exact");
    expect(scorer.lastStats.fallbackQueries).toBe(100);
    for (let call = 0; call < 32; call++) {
      expectSameAnswers(await scorer.search(queries), truth);
      expect(scorer.lastStats.shortlistMs).toBe(0); // no shortlist tried
    }
    await scorer.search(queries);
    expect(scorer.lastStats.shortlistMs).toBeGreaterThan(0); // tried again
  });

  it("gives the same answers over several stage-1 blocks as over one", async () => {
    const dim = 64;
    const memory = lowRankClusteredRows(5000, dim, 40, 0.5, 12, 8);
    const queries = lowRankClusteredRows(300, dim, 40, 0.5, 12, 9);
    const truth = bruteForce(queries, memory, dim);
    for (const block of [5000, 1024, 777]) {
      const scorer = await TwoStageScorer.build(bankOf(memory, dim), 2, { ...DEFAULT_TWO_STAGE, block, rank: 16 });
      expectSameAnswers(await scorer.search(queries), truth);
      expect(scorer.kind).toBe("two_stage");
    }
  });

  it("handles duplicate rows (more copies than the shortlist holds) and exact ties", async () => {
    const dim = 48;
    const rng = new SeededRandom(4);
    const base = l2NormalizeRows(rng.fillNormal(new Float32Array(400 * dim), 1), dim);
    // 400 distinct rows, row 0 repeated 100 times, every row twice more, shuffled in blocks
    const rows: number[] = [];
    for (let c = 0; c < 100; c++) rows.push(0);
    for (let r = 0; r < 400; r++) rows.push(r, r, r);
    const memory = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => memory.set(base.subarray(r * dim, (r + 1) * dim), i * dim));
    expect(distinctRows(memory, rows.length, dim).length).toBe(400);

    // queries: copies of memory rows (distance 0), points equidistant from two rows (exact ties), random ones
    const queries: number[] = [];
    for (let r = 0; r < 40; r++) queries.push(...base.subarray(r * dim, (r + 1) * dim));
    for (let r = 0; r < 40; r++) for (let d = 0; d < dim; d++) queries.push(base[r * dim + d]! + base[(r + 1) * dim + d]!); // midpoint direction: tie between rows r and r+1
    queries.push(...rng.fillNormal(new Float32Array(40 * dim), 1));
    const q = Float32Array.from(queries);
    const scorer = await TwoStageScorer.build(bankOf(memory, dim), 2, { ...DEFAULT_TWO_STAGE, rank: 8, shortlist: 4, gathered: 2 });
    expect(scorer.distinctRows).toBe(400);
    const found = await scorer.search(q);
    const truth = bruteForce(q, memory, dim);
    expectSameAnswers(found, truth);
    for (let i = 0; i < 40; i++) expect(found.squared[i]).toBeLessThan(1e-12); // a copy of a memory row
  });

  it("normalises the queries itself (scaled queries, a zero query) and leaves them as they were", async () => {
    const dim = 32;
    const memory = clusteredRows(2000, dim, 10, 0.5, 11);
    const queries = clusteredRows(50, dim, 10, 0.5, 12);
    const scaled = queries.map((v, i) => v * (1 + Math.floor(i / dim) * 3.7));
    const copy = scaled.slice();
    const scorer = await TwoStageScorer.build(bankOf(memory, dim), 1);
    const a = await scorer.distances(queries);
    const b = await scorer.distances(scaled);
    for (let i = 0; i < a.length; i++) expect(abs(a[i]! - b[i]!)).toBeLessThan(1e-6);
    expect(Array.from(scaled)).toEqual(Array.from(copy));
    const zero = await scorer.distances(new Float32Array(dim)); // distance from the origin to the nearest (unit) row
    expect(zero[0]).toBeCloseTo(1, 6);
  });

  it("works on a rank-deficient bank and on one identical row repeated", async () => {
    const dim = 64;
    const rng = new SeededRandom(21);
    // rows in a 3-d subspace
    const basis = rng.fillNormal(new Float32Array(3 * dim), 1);
    const memory = new Float32Array(1500 * dim);
    for (let r = 0; r < 1500; r++) {
      const c = [rng.normal(), rng.normal(), rng.normal()];
      for (let d = 0; d < dim; d++) memory[r * dim + d] = c[0]! * basis[d]! + c[1]! * basis[dim + d]! + c[2]! * basis[2 * dim + d]!;
    }
    l2NormalizeRows(memory, dim);
    const queries = l2NormalizeRows(rng.fillNormal(new Float32Array(100 * dim), 1), dim);
    const scorer = await TwoStageScorer.build(bankOf(memory, dim), 1, { ...DEFAULT_TWO_STAGE, rank: 16 });
    expectSameAnswers(await scorer.search(queries), bruteForce(queries, memory, dim));

    const same = new Float32Array(600 * dim);
    for (let r = 0; r < 600; r++) same.set(memory.subarray(0, dim), r * dim);
    const single = await TwoStageScorer.build(bankOf(same, dim), 1);
    expect(single.distinctRows).toBe(1);
    expectSameAnswers(await single.search(queries), bruteForce(queries, same, dim));
  });
});

describe("a basis stored with the memory", () => {
  const dim = 1152;
  const memory = lowRankClusteredRows(3000, dim, 42, 0.6, 96, 2);
  const queries = lowRankClusteredRows(128, dim, 42, 0.6, 96, 3);
  const params = { ...DEFAULT_TWO_STAGE, rank: 160 };

  it("is orthonormal to well under the bound it is held to, is used as is, and gives the answers of a basis found at load", async () => {
    const bank = bankOf(memory, dim);
    const basis = await findBankBasis(bank, 2, params);
    expect(basis.rank).toBe(160);
    expect(await basisDeviationF64(basis.basis, basis.rank, dim, 2)).toBeLessThan(MAX_BASIS_DEVIATION / 2);
    const found = await TwoStageScorer.build(bank, 2, params);
    const stored = await TwoStageScorer.build(bank, 2, params, basis);
    expect([found.basisSource, stored.basisSource]).toEqual(["found", "stored"]);
    expect(stored.buildTimings.basis).toBeUndefined();
    const truth = bruteForce(queries, memory, dim);
    const a = await stored.search(queries);
    expectSameAnswers(a, truth);
    expect(Array.from(a.squared)).toEqual(Array.from((await found.search(queries)).squared));
    expect(stored.kind).toBe("two_stage");
  });

  it.each([
    ["rows 1 % too long (not orthonormal)", (b: ShortlistBasis): ShortlistBasis => ({ ...b, basis: b.basis.map((v, i) => (i < dim ? v * 1.01 : v)) })],
    [
      "two rows the same (not orthogonal)",
      (b: ShortlistBasis): ShortlistBasis => ({ ...b, basis: Float32Array.from(b.basis, (v, i) => (i >= dim && i < 2 * dim ? b.basis[i - dim]! : v)) }),
    ],
    ["another rank than the search asks for", (b: ShortlistBasis): ShortlistBasis => ({ ...b, basis: b.basis.subarray(0, 96 * dim), rank: 96 })],
    ["a NaN in the mean", (b: ShortlistBasis): ShortlistBasis => ({ ...b, mean: Float32Array.from(b.mean, (v, i) => (i === 5 ? NaN : v)) })],
    ["a mean of another dimension", (b: ShortlistBasis): ShortlistBasis => ({ ...b, mean: b.mean.subarray(1) })],
    ["a NaN in the basis", (b: ShortlistBasis): ShortlistBasis => ({ ...b, basis: Float32Array.from(b.basis, (v, i) => (i === 7 ? NaN : v)) })],
    [
      "a deviation just over the bound (first row 6e-7 too long: ~1.2e-6)",
      (b: ShortlistBasis): ShortlistBasis => ({ ...b, basis: b.basis.map((v, i) => (i < dim ? v * (1 + 6e-7) : v)) }),
    ],
  ])("is not used, and one is found instead, when it has %s; the answers stay exact", async (_name, spoil) => {
    const bank = bankOf(memory, dim);
    const scorer = await TwoStageScorer.build(bank, 2, params, spoil(await findBankBasis(bank, 2, params)));
    expect(scorer.basisSource).toBe("found");
    expectSameAnswers(await scorer.search(queries), bruteForce(queries, memory, dim));
  });
});

it("a stored basis just under the deviation bound (first row 3e-7 too long: ~8e-7) is used", async () => {
  const dim = 1152;
  const memory = lowRankClusteredRows(3000, dim, 42, 0.6, 96, 2);
  const bank = bankOf(memory, dim);
  const params = { ...DEFAULT_TWO_STAGE, rank: 160 };
  const basis = await findBankBasis(bank, 2, params);
  const longer = { ...basis, basis: basis.basis.map((v, i) => (i < dim ? v * (1 + 3e-7) : v)) };
  const deviation = await basisDeviationF64(longer.basis, longer.rank, dim, 2);
  expect(deviation).toBeGreaterThan(5e-7);
  expect(deviation).toBeLessThan(MAX_BASIS_DEVIATION);
  expect((await TwoStageScorer.build(bank, 2, params, longer)).basisSource).toBe("stored");
});

describe("a query almost inside the basis's subspace", () => {
  // 8-d, rank 1 along e1. The query's residual (along e2) is tiny; the nearest row's residual is
  // along e2 too, a decoy's along e3 is 2e-4 farther in squared distance. A residual norm computed
  // as sqrt(|c|^2 - |p|^2) errs by ~sqrt(rounding) here (~3e-4), enough to rank the decoy first.
  const D = 8;
  function scene(queryResidualRatio: number): { bank: MemoryBank; query: Float32Array } {
    const theta = Math.atan(Math.sqrt(queryResidualRatio));
    const query = new Float32Array(D);
    query[0] = Math.cos(theta);
    query[1] = Math.sin(theta);
    const distance = (a: number, b: number, axis: number) => {
      const v = new Float64Array(D);
      v[0] = Math.fround(a);
      v[axis] = Math.fround(b);
      let s = 0;
      for (let d = 0; d < D; d++) s += (query[d]! - v[d]!) ** 2;
      return s;
    };
    const nearest = distance(Math.cos(1), Math.sin(1), 1);
    let lo = 0;
    let hi = 1.5;
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      if (distance(Math.cos(mid), Math.sin(mid), 2) < nearest + 2e-4) lo = mid;
      else hi = mid;
    }
    const embeddings = new Float32Array(2 * D);
    embeddings[0] = Math.cos(1);
    embeddings[1] = Math.sin(1);
    embeddings[D] = Math.cos(lo);
    embeddings[D + 2] = Math.sin(lo);
    return { bank: { embeddings, count: 2, dim: D, tokenH: 1, tokenW: 2, metadata: {} }, query };
  }

  it.each([
    ["an exactly orthonormal basis, query residual^2 3e-8", 0, 3e-8],
    ["a basis at the accepted deviation (9e-7), query residual^2 9e-7", 9e-7, 9e-7],
  ])("still finds the true nearest row: %s", async (_name, deviation, ratio) => {
    const { bank, query } = scene(ratio);
    const basis = new Float32Array(D);
    basis[0] = Math.sqrt(1 + deviation);
    // gathered 0: every candidate is ranked by its bound and certified in float64 (the gathered
    // float32 dot products' own margin would otherwise hide a bound this far off)
    const scorer = await TwoStageScorer.build(bank, 1, { ...DEFAULT_TWO_STAGE, rank: 1, gathered: 0 }, { mean: new Float32Array(D), basis, rank: 1 });
    expect(scorer.basisSource).toBe("stored");
    const found = await scorer.search(query);
    expectSameAnswers(found, bruteForce(query, bank.embeddings, D));
    expect(found.index[0]).toBe(0);
  });
});

it("keeps every stage-1 bound within its margin of the same bound in float64, on a bank packed within 1e-4 of its mean", async () => {
  // rows and queries are unit vectors within ~1e-4 of one another: their centred norms are ~1e-4,
  // and so is the margin's scale; an error proportional to |q| = 1 (a query normalised in float32)
  // would be thousands of times the margin
  const dim = 1152;
  const rows = 3000;
  const queriesCount = 60;
  const spread = lowRankClusteredRows(rows + queriesCount, dim, 1, 0.6, 96, 5, 1, 0.02);
  const centre = l2NormalizeRows(new SeededRandom(9).fillNormal(new Float32Array(dim), 1), dim);
  const all = new Float32Array((rows + queriesCount) * dim);
  for (let r = 0; r < rows + queriesCount; r++) for (let d = 0; d < dim; d++) all[r * dim + d] = centre[d]! + 1e-4 * spread[r * dim + d]!;
  l2NormalizeRows(all, dim);
  const memory = all.subarray(0, rows * dim);
  const queries = all.slice(rows * dim);
  const { mean, basis, rank } = await findBankBasis(bankOf(memory, dim), 2);
  const { aug, augSquared } = await memoryAugRows(
    memory,
    dim,
    Int32Array.from({ length: rows }, (_, i) => i),
    mean,
    basis,
    rank,
    2,
  );
  const k = 40;
  const list = await shortlist(centredQueries(queries, dim, mean), dim, { mean, basis, rank, memoryAug: aug, memoryAugSqNorms: augSquared }, 0, rows, k, 2);
  // [projection, residual norm] of a vector, all in float64 from the float32 basis
  const augmented64 = (v: Float64Array): Float64Array => {
    const c = Float64Array.from(v, (x, d) => x - mean[d]!);
    const out = new Float64Array(rank + 1);
    const residual = Float64Array.from(c);
    for (let r = 0; r < rank; r++) {
      let p = 0;
      for (let d = 0; d < dim; d++) p += c[d]! * basis[r * dim + d]!;
      out[r] = p;
      for (let d = 0; d < dim; d++) residual[d]! -= p * basis[r * dim + d]!;
    }
    out[rank] = sqrt(residual.reduce((a, x) => a + x * x, 0));
    return out;
  };
  const rowAug = new Map<number, Float64Array>();
  const largest = augSquared.reduce((a, b) => max(a, b), 0);
  let worst = -Infinity;
  for (let i = 0; i < queriesCount; i++) {
    const q = queries.subarray(i * dim, (i + 1) * dim);
    const length = sqrt(q.reduce((a, x) => a + x * x, 0));
    const qa = augmented64(Float64Array.from(q, (x) => x / length));
    const margin = LOWER_BOUND_MARGIN * (list.querySquared[i]! + largest);
    for (let t = 0; t < k; t++) {
      const row = list.candidates[i * k + t]!;
      if (!rowAug.has(row)) rowAug.set(row, augmented64(Float64Array.from(memory.subarray(row * dim, (row + 1) * dim))));
      const ma = rowAug.get(row)!;
      let bound64 = 0;
      for (let c = 0; c <= rank; c++) bound64 += (qa[c]! - ma[c]!) ** 2;
      worst = max(worst, (list.lowerBounds[i * k + t]! - bound64) / margin);
    }
  }
  expect(worst).toBeLessThanOrEqual(0.5);
});

describe("knnPlan", () => {
  it("picks by bank size under auto, and a forced setting wins", () => {
    expect(knnPlan("auto", TWO_STAGE_MIN_ROWS - 1, 5000, 1152)).toBe("exact");
    expect(knnPlan("auto", TWO_STAGE_MIN_ROWS, 5000, 1152)).toBe("two_stage");
    expect(knnPlan("auto", 50000, 5000, TWO_STAGE_MIN_DIM - 1)).toBe("exact"); // narrow embeddings: the Gemm would be as deep
    expect(knnPlan("two_stage", 50000, 5000, 108)).toBe("two_stage");
    expect(knnPlan("exact", 50000, 5000)).toBe("exact");
    expect(knnPlan("two_stage", 100, 5000)).toBe("two_stage");
    expect(knnPlan("hnsw", 4000, 5000)).toBe("hnsw");
    expect(knnPlan("hnsw", 60000, 5000)).toBe("two_stage"); // too big for an index: as auto
    expect(knnPlan("hnsw", 1000, 500)).toBe("exact");
  });
});
