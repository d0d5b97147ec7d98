import type { MemoryBank } from "../../lib/patchcore/memoryBank";
import { nearestSquaredL2Normalised } from "../../lib/onnx/kernels";
import { ExactScorer } from "../../lib/patchcore/knn/exact";
import { DEFAULT_HNSW, HnswScorer } from "../../lib/patchcore/knn/hnsw";
import { percentile } from "../../lib/patchcore/percentile";
import { clusteredRows } from "../synthetic/clustered";
import { measure, ms, summarise } from "./stats";

export interface KnnRow {
  dim: number;
  bank: number;
  exactMs: number;
  hnswBuildMs: number;
  hnsw: { ef: number; ms: number; recallAt1: number; maxRelError: number; p99ScoreRelError: number }[];
}

/** Exact (onnxruntime) vs HNSW for 1024 queries against clustered banks. */
export async function benchKnn(dims: number[], banks: number[], threads: number, runs: number, efs: number[]): Promise<KnnRow[]> {
  const rows: KnnRow[] = [];
  for (const dim of dims) {
    for (const size of banks) {
      const embeddings = clusteredRows(size, dim, Math.max(8, Math.round(size / 100)), 0.6, 2);
      const queries = clusteredRows(1024, dim, Math.max(8, Math.round(size / 100)), 0.6, 3);
      const bank: MemoryBank = { embeddings, count: size, dim, tokenH: 32, tokenW: 32, metadata: {} };
      const exact = new ExactScorer(bank, threads);
      const exactMs = summarise(await measure(runs, 2, () => exact.distances(queries))).p50;
      const truth = await nearestSquaredL2Normalised(queries, embeddings, dim, threads, true);
      const exactDistances = await exact.distances(queries);
      const exactScore = percentile(exactDistances, 99);
      const buildStart = performance.now();
      const hnsw = HnswScorer.build(bank, DEFAULT_HNSW);
      const hnswBuildMs = performance.now() - buildStart;
      const results = [];
      for (const ef of efs) {
        hnsw.setEf(ef);
        const timing = summarise(await measure(Math.max(3, runs >> 2), 1, () => hnsw.distances(queries))).p50;
        const approx = await hnsw.distances(queries);
        const nearest = hnsw.nearestIndices(queries);
        let hits = 0;
        let maxRel = 0;
        for (let i = 0; i < 1024; i++) {
          if (nearest[i] === truth.index![i]) hits++;
          maxRel = Math.max(maxRel, (approx[i]! - exactDistances[i]!) / Math.max(exactDistances[i]!, 1e-6));
        }
        results.push({ ef, ms: timing, recallAt1: hits / 1024, maxRelError: maxRel, p99ScoreRelError: Math.abs(percentile(approx, 99) - exactScore) / exactScore });
      }
      rows.push({ dim, bank: size, exactMs, hnswBuildMs, hnsw: results });
    }
  }
  return rows;
}

export function knnTable(rows: readonly KnnRow[]): string {
  const lines = [
    "### Nearest neighbour: 1024 queries, clustered L2-normalised data, ms p50",
    "",
    "| D | bank | exact (ORT) | HNSW build | HNSW ef: ms, recall@1, max patch error, image-score error |",
    "|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    const h = r.hnsw
      .map((x) => `ef ${x.ef}: ${ms(x.ms)} ms, ${(x.recallAt1 * 100).toFixed(1)} %, ${(x.maxRelError * 100).toFixed(1)} %, ${(x.p99ScoreRelError * 100).toFixed(2)} %`)
      .join("; ");
    lines.push(`| ${r.dim} | ${r.bank} | ${ms(r.exactMs)} | ${ms(r.hnswBuildMs)} | ${h} |`);
  }
  return lines.join("\n");
}
