import { matmul } from "../../lib/onnx/kernels";
import { coresetSize, kCenterGreedy, randomProjection } from "../../lib/patchcore/coreset";
import { fitMemoryBank } from "../../lib/patchcore/memoryBank";
import { l2NormalizeRows } from "../../lib/patchcore/vectors";
import { InvalidInputError } from "../../lib/errors";
import { clusteredRows } from "../../scripts/synthetic/clustered";

const squared = (a: Float32Array, i: number, j: number, dim: number) => {
  let s = 0;
  for (let d = 0; d < dim; d++) s += (a[i * dim + d]! - a[j * dim + d]!) ** 2;
  return s;
};

describe("coresetSize", () => {
  it.each([
    [1000, 0.02, 20],
    [1001, 0.02, 21],
    [34992, 0.02, 700],
    [10, 0.001, 1],
    [10, 1, 10],
  ])("%i rows at rate %p -> %i", (n, rate, k) => {
    expect(coresetSize(n, rate)).toBe(k);
  });
});

describe("kCenterGreedy", () => {
  const dim = 256;
  const rows = clusteredRows(1500, dim, 30, 0.8, 5);
  const options = { rate: 0.05, seed: 3, projectionDim: 64, threads: 2 };

  it("keeps every row at rate 1", async () => {
    const result = await kCenterGreedy(rows, dim, { ...options, rate: 1 });
    expect(Array.from(result.indices)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(result).toMatchObject({ rateRequested: 1, rateApplied: 1, coveringRadius: 0 });
  });

  it("is reproducible: same input and seed, same coreset; another seed starts elsewhere", async () => {
    const a = await kCenterGreedy(rows, dim, options);
    const b = await kCenterGreedy(rows, dim, options);
    const c = await kCenterGreedy(rows, dim, { ...options, seed: 4 });
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    expect(c.indices[0]).not.toBe(a.indices[0]);
    expect(a.indices.length).toBe(75);
    expect(a.rateApplied).toBeCloseTo(75 / 1500, 12);
    expect(new Set(a.indices).size).toBe(75); // no row picked twice
  });

  it("picks a valid greedy k-center sequence in the projected space", async () => {
    const result = await kCenterGreedy(rows, dim, options);
    const projected = await matmul(rows, randomProjection(dim, 64, options.seed), 1500, dim, 64, 2);
    const nearest = new Float64Array(1500).fill(Infinity);
    for (let j = 0; j < result.indices.length - 1; j++) {
      for (let i = 0; i < 1500; i++) nearest[i] = Math.min(nearest[i]!, squared(projected, i, result.indices[j]!, 64));
      let farthest = 0;
      for (let i = 0; i < 1500; i++) farthest = Math.max(farthest, nearest[i]!);
      // the next pick is (one of) the farthest rows from all picks so far
      expect(nearest[result.indices[j + 1]!]!).toBeGreaterThanOrEqual(farthest * (1 - 1e-5));
    }
  });

  it("never lets the covering radius grow as points are added", async () => {
    const { projectedRadii } = await kCenterGreedy(rows, dim, options);
    for (let j = 1; j < projectedRadii.length; j++) expect(projectedRadii[j]!).toBeLessThanOrEqual(projectedRadii[j - 1]!);
  });

  it("reports the full-dimension covering radius (brute force check)", async () => {
    const result = await kCenterGreedy(rows, dim, options);
    let radius = 0;
    for (let i = 0; i < 1500; i++) {
      let best = Infinity;
      for (const c of result.indices) best = Math.min(best, squared(rows, i, c, dim));
      radius = Math.max(radius, best);
    }
    expect(result.coveringRadius).toBeCloseTo(Math.sqrt(radius), 3);
    // and it is much smaller than with one random centre: the greedy spreads its picks over the clusters
    expect(result.coveringRadius).toBeLessThan(0.9 * Math.sqrt(Math.max(...Array.from({ length: 1500 }, (_, i) => squared(rows, i, result.indices[0]!, dim)))));
  });

  it("works without projection when the dimension is already small", async () => {
    const small = l2NormalizeRows(clusteredRows(300, 16, 5, 0.5, 1), 16);
    const result = await kCenterGreedy(small, 16, { ...options, projectionDim: 128 });
    expect(result.indices.length).toBe(15);
  });
});

describe("fitMemoryBank", () => {
  const grid = (h: number, w: number, dim: number, seed: number) => ({ embeddings: clusteredRows(h * w, dim, 4, 2, seed), h, w, dim });

  it("L2-normalises, subsamples by the coreset, and records the fit", async () => {
    const { bank, stats } = await fitMemoryBank(
      [grid(8, 8, 32, 1), grid(8, 8, 32, 2)],
      { coresetRate: 0.1, keepAll: false, seed: 0, threads: 1 },
      { model_id: "m" },
    );
    expect(stats).toMatchObject({ nEmbeddings: 128, coresetSize: 13, rateRequested: 0.1 });
    expect(bank).toMatchObject({ count: 13, dim: 32, tokenH: 8, tokenW: 8 });
    expect(bank.metadata).toMatchObject({ model_id: "m", n_embeddings: 128, coreset_size: 13, memory_fit: false, n_images: 2 });
    for (let r = 0; r < bank.count; r++) {
      let s = 0;
      for (let d = 0; d < 32; d++) s += bank.embeddings[r * 32 + d]! ** 2;
      expect(s).toBeCloseTo(1, 5);
    }
  });

  it("keeps the whole bank with memory_fit", async () => {
    const { bank, stats } = await fitMemoryBank([grid(4, 4, 8, 1)], { coresetRate: 0.02, keepAll: true, seed: 0, threads: 1 });
    expect(bank.count).toBe(16);
    expect(stats).toMatchObject({ coresetSize: 16, rateApplied: 1, rateRequested: 1 });
  });

  it("refuses images whose token grids differ with 400 Token grid mismatch", async () => {
    const error = await fitMemoryBank([grid(4, 4, 8, 1), grid(4, 5, 8, 2)], { coresetRate: 0.5, keepAll: false, seed: 0, threads: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/^Token grid mismatch: image 0 gives 4x4x8, image 1 gives 4x5x8/);
  });
});
