import { nearestSquaredL2Normalised } from "../../lib/onnx/kernels";
import type { MemoryBank } from "../../lib/patchcore/memoryBank";
import { ExactScorer } from "../../lib/patchcore/knn/exact";
import { HnswScorer } from "../../lib/patchcore/knn/hnsw";
import { l2NormalizeRows } from "../../lib/patchcore/vectors";
import { SeededRandom } from "../../lib/random";
import { clusteredRows } from "../../scripts/synthetic/clustered";
import { maxAbsDiff } from "../helpers/arrays";

/** Brute force in float64: the reference every backend is held to. */
function bruteNearest(queries: Float32Array, memory: Float32Array, dim: number): { distance: Float64Array; index: Int32Array } {
  const n = queries.length / dim;
  const m = memory.length / dim;
  const distance = new Float64Array(n);
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (queries[i * dim + d]! - memory[j * dim + d]!) ** 2;
      if (s < best) [best, index[i]] = [s, j];
    }
    distance[i] = Math.sqrt(best);
  }
  return { distance, index };
}

const bank = (embeddings: Float32Array, dim: number): MemoryBank => ({ embeddings, count: embeddings.length / dim, dim, tokenH: 1, tokenW: 1, metadata: {} });

describe("exact nearest neighbour (onnxruntime)", () => {
  it.each([
    [37, 500, 24],
    [256, 3000, 108],
    [5, 16384 + 77, 8], // more rows than one ONNX block: the blocks' minima must combine
  ])("matches brute force: %i queries, %i memory rows, dim %i", async (n, m, dim) => {
    const rng = new SeededRandom(n + m);
    const memory = l2NormalizeRows(rng.fillNormal(new Float32Array(m * dim), 1), dim);
    const queries = l2NormalizeRows(rng.fillNormal(new Float32Array(n * dim), 1), dim);
    const reference = bruteNearest(queries, memory, dim);
    const { index } = await nearestSquaredL2Normalised(queries, memory, dim, 2, true);
    expect(Array.from(index!)).toEqual(Array.from(reference.index));
    const distances = await new ExactScorer(bank(memory, dim), 2).distances(queries);
    expect(maxAbsDiff(distances, reference.distance)).toBeLessThan(2e-3); // float32 GEMM on unit vectors
  });

  it("L2-normalises the queries itself: scaled queries give the same distances", async () => {
    const dim = 32;
    const rng = new SeededRandom(9);
    const memory = l2NormalizeRows(rng.fillNormal(new Float32Array(400 * dim), 1), dim);
    const queries = l2NormalizeRows(rng.fillNormal(new Float32Array(20 * dim), 1), dim);
    const scaled = queries.map((v, i) => v * (1 + Math.floor(i / dim) * 3.7));
    const scorer = new ExactScorer(bank(memory, dim), 1);
    expect(maxAbsDiff(await scorer.distances(scaled), await scorer.distances(queries))).toBeLessThan(1e-5);
    expect(Array.from(scaled)).not.toEqual(Array.from(queries)); // and the input is left as it was
    const zero = await scorer.distances(new Float32Array(dim)); // a zero row: distance to the nearest row's norm (1)
    expect(zero[0]).toBeCloseTo(1, 5);
  });

  it("gives distance 0 for a query that is in the memory", async () => {
    const memory = l2NormalizeRows(new SeededRandom(1).fillNormal(new Float32Array(50 * 16), 1), 16);
    const distances = await new ExactScorer(bank(memory, 16), 1).distances(memory.slice(16 * 7, 16 * 8));
    expect(distances[0]).toBeLessThan(1e-3);
  });
});

describe("HNSW (hnswlib-node)", () => {
  const dim = 64;
  const memory = clusteredRows(2000, dim, 20, 0.6, 2);
  const queries = clusteredRows(200, dim, 20, 0.6, 3);

  it("agrees with brute force on clustered data at ef 64, after a trip through bytes", async () => {
    const built = HnswScorer.build(bank(memory, dim));
    const bytes = await built.serialise();
    const loaded = await HnswScorer.load(bytes, dim, 64);
    expect(loaded.count).toBe(2000);
    const reference = bruteNearest(queries, memory, dim);
    expect(Array.from(loaded.nearestIndices(queries))).toEqual(Array.from(reference.index));
    expect(maxAbsDiff(await loaded.distances(queries), reference.distance)).toBeLessThan(1e-4);
  });

  it("sets ef after loading (hnswlib resets it to 10 on read): a larger ef never finds a farther neighbour", async () => {
    const bytes = await HnswScorer.build(bank(memory, dim), { m: 4, efConstruction: 16, efSearch: 1, seed: 1 }).serialise();
    const narrow = await (await HnswScorer.load(bytes, dim, 1)).distances(queries);
    const wide = await (await HnswScorer.load(bytes, dim, 400)).distances(queries);
    const reference = bruteNearest(queries, memory, dim);
    const misses = (found: Float32Array) => Array.from(found).filter((d, i) => d > reference.distance[i]! + 1e-4).length;
    for (let i = 0; i < queries.length / dim; i++) expect(wide[i]!).toBeLessThanOrEqual(narrow[i]! + 1e-6);
    expect(misses(narrow)).toBeGreaterThan(0); // ef 1 on a sparse graph misses some
    expect(misses(wide)).toBeLessThan(misses(narrow) / 2);
  });
});
