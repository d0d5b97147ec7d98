import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { HierarchicalNSW } from "hnswlib-node";
import type { MemoryBank } from "../memoryBank";
import type { NearestNeighbourScorer } from "./scorer";

const { sqrt } = Math;

export interface HnswParams {
  /** Graph degree (hnswlib M). */
  readonly m: number;
  readonly efConstruction: number;
  /** Search breadth; hnswlib resets it to 10 when an index is read, so it is set after every load. */
  readonly efSearch: number;
  readonly seed: number;
}

export const DEFAULT_HNSW: HnswParams = { m: 16, efConstruction: 200, efSearch: 64, seed: 100 };

/**
 * Approximate nearest neighbour with hnswlib ("l2" space = squared Euclidean). hnswlib-node
 * takes plain Arrays, one point at a time, and saves and loads by file path only, hence the
 * conversions and temporary files below.
 */
export class HnswScorer implements NearestNeighbourScorer {
  readonly kind = "hnsw" as const;

  private constructor(
    private readonly index: HierarchicalNSW,
    private readonly dim: number,
  ) {}

  static build(bank: MemoryBank, params: HnswParams = DEFAULT_HNSW): HnswScorer {
    const index = new HierarchicalNSW("l2", bank.dim);
    index.initIndex(bank.count, params.m, params.efConstruction, params.seed);
    const point = new Array<number>(bank.dim);
    for (let row = 0; row < bank.count; row++) {
      const base = row * bank.dim;
      for (let d = 0; d < bank.dim; d++) point[d] = bank.embeddings[base + d]!;
      index.addPoint(point, row);
    }
    index.setEf(params.efSearch);
    return new HnswScorer(index, bank.dim);
  }

  /** Reads an index serialised by `serialise` and sets its search breadth. */
  static async load(bytes: Uint8Array, dim: number, efSearch: number): Promise<HnswScorer> {
    const file = path.join(os.tmpdir(), `hnsw-${randomUUID()}.bin`);
    try {
      await writeFile(file, bytes);
      const index = new HierarchicalNSW("l2", dim);
      await index.readIndex(file);
      index.setEf(efSearch);
      return new HnswScorer(index, dim);
    } finally {
      await rm(file, { force: true });
    }
  }

  get count(): number {
    return this.index.getCurrentCount();
  }

  async serialise(): Promise<Buffer> {
    const file = path.join(os.tmpdir(), `hnsw-${randomUUID()}.bin`);
    try {
      await this.index.writeIndex(file);
      return await readFile(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  setEf(ef: number): void {
    this.index.setEf(ef);
  }

  async distances(queries: Float32Array): Promise<Float32Array> {
    const out = new Float32Array(queries.length / this.dim);
    this.searchEach(queries, (i, squared) => (out[i] = squared > 0 ? sqrt(squared) : 0));
    return out;
  }

  /** Indices of the nearest memory rows (for recall measurements). */
  nearestIndices(queries: Float32Array): Int32Array {
    const out = new Int32Array(queries.length / this.dim);
    this.searchEach(queries, (i, _squared, neighbour) => (out[i] = neighbour));
    return out;
  }

  /** Searches each query row, L2-normalised, and hands its nearest row's squared distance and index to `visit`. */
  private searchEach(queries: Float32Array, visit: (i: number, squared: number, neighbour: number) => void): void {
    const n = queries.length / this.dim;
    const point = new Array<number>(this.dim);
    for (let i = 0; i < n; i++) {
      const base = i * this.dim;
      let norm = 0;
      for (let d = 0; d < this.dim; d++) norm += queries[base + d]! * queries[base + d]!;
      const inv = norm > 0 ? 1 / sqrt(norm) : 0;
      for (let d = 0; d < this.dim; d++) point[d] = queries[base + d]! * inv;
      const found = this.index.searchKnn(point, 1);
      visit(i, found.distances[0]!, found.neighbors[0]!);
    }
  }
}
