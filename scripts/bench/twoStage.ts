/**
 * Two-stage coreset (a dataset fit spread over workers) vs single-pass, on a dataset in MVTec
 * layout (by default the shared MPDD metal_plate), in-process with the real modules:
 *
 *   npx tsx scripts/bench/twoStage.ts [folder] [--models texture-s14,vit-s14-shape] [--seeds 3] [--extra-oversample 8,16]
 *   npm run bench -- --only twostage [--dataset folder]
 *
 * For each model: every train/good image embedded (lib/features), then memories built
 * - single-pass: fitMemoryBank at rate 0.02 (as /fit_ok), one per seed;
 * - two-stage: chunkCoreset per chunk of images (rate x oversample, seed + chunk index, as the
 *   worker does) then mergeChunkCoresets (as the coordinator does), one per seed; at the configured
 *   chunk size 8 and oversample 4, and two variants (chunks of 4; oversample 1);
 * and compared on: the true covering radius over ALL patches (max over patches of the distance
 * to the nearest kept row, exact, full dimension), the mean nearest distance, and the image
 * AUROC of the test images scored through inspect + ExactScorer (the /infer path).
 * The seeds' spread of single-pass is the noise the two-stage difference is judged against.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { embedImages } from "../../lib/features/embed";
import type { FeatureExtractor, PatchGrid } from "../../lib/features/extractor";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { decodeImage } from "../../lib/image/decode";
import { nearestSquaredL2Normalised } from "../../lib/onnx/kernels";
import { inspect } from "../../lib/patchcore/pipeline";
import { ExactScorer } from "../../lib/patchcore/knn/exact";
import { fitMemoryBank, type MemoryBank } from "../../lib/patchcore/memoryBank";
import { chunkCoreset, mergeChunkCoresets } from "../../lib/patchcore/chunkedCoreset";
import { concatRows, l2NormalizeRows } from "../../lib/patchcore/vectors";
import { auroc } from "../eval/metrics";
import { readMvtec } from "../eval/dataset";
import { flag, positional } from "../util/cli";

const RATE = 0.02;
const THREADS = 2;
const MAX_PIXELS = 4096 * 4096;

export interface TwoStageOptions {
  readonly folder: string;
  /** More two-stage variants at chunks of 8 with these oversampling factors (e.g. [8, 16]). */
  readonly extraOversamples?: readonly number[];
  readonly models: readonly string[];
  readonly seeds: number;
  readonly print: (text: string) => void;
}

interface Variant {
  readonly name: string;
  /** null: single pass. */
  readonly chunkImages: number | null;
  readonly oversample: number;
}

const VARIANTS: readonly Variant[] = [
  { name: "single-pass", chunkImages: null, oversample: 1 },
  { name: "two-stage, chunks of 8, oversample 4 (configured)", chunkImages: 8, oversample: 4 },
  { name: "two-stage, chunks of 4, oversample 4", chunkImages: 4, oversample: 4 },
  { name: "two-stage, chunks of 8, oversample 1", chunkImages: 8, oversample: 1 },
];

interface MemoryResult {
  readonly seed: number;
  readonly rows: number;
  /** Max over all patches of the distance to the nearest kept row (exact). */
  readonly coveringRadius: number;
  readonly meanNearest: number;
  /** What the fit itself reports (two-stage: the triangle-inequality bound). */
  readonly reportedRadius: number;
  readonly buildMs: number;
  readonly imageAuroc: number;
}

/**
 * An extractor that runs the model once per distinct input (keyed by the input's SHA-1): the
 * test images are scored against many memories, and their patch grids do not change.
 */
class CachingExtractor implements FeatureExtractor {
  private readonly cache = new Map<string, PatchGrid[]>();
  constructor(private readonly inner: FeatureExtractor) {}
  get card() {
    return this.inner.card;
  }
  get inputSize() {
    return this.inner.inputSize;
  }
  async extract(pixels: Float32Array, count: number): Promise<PatchGrid[]> {
    const key =
      createHash("sha1")
        .update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength))
        .digest("hex") + `:${count}`;
    let grids = this.cache.get(key);
    if (!grids) {
      grids = await this.inner.extract(pixels, count);
      this.cache.set(key, grids);
    }
    return grids;
  }
}

async function buildTwoStage(
  grids: readonly PatchGrid[],
  chunkImages: number,
  oversample: number,
  seed: number,
): Promise<{ bank: MemoryBank; reportedRadius: number }> {
  const { h, w, dim } = grids[0]!;
  const reductions = [];
  for (let i = 0, chunk = 0; i < grids.length; i += chunkImages, chunk++) {
    const rows = l2NormalizeRows(concatRows(grids.slice(i, i + chunkImages).map((g) => g.embeddings)), dim);
    // as the worker: seed = the fit's seed + the chunk's index
    reductions.push(await chunkCoreset(rows, dim, { rate: RATE, oversample, keepAll: false, seed: seed + chunk, threads: THREADS }));
  }
  const merged = await mergeChunkCoresets(reductions, dim, { rate: RATE, keepAll: false, seed, threads: THREADS });
  return {
    bank: { embeddings: merged.rows, count: merged.stats.coresetSize, dim, tokenH: h, tokenW: w, metadata: {} },
    reportedRadius: merged.stats.coveringRadius,
  };
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const spread = (v: readonly number[]) => Math.max(...v) - Math.min(...v);
const f4 = (v: number) => v.toFixed(4);

export async function benchTwoStage(root: string, options: TwoStageOptions): Promise<Record<string, unknown>> {
  const started = Date.now();
  const dataset = readMvtec(path.resolve(options.folder));
  const modelDir = path.join(root, "layers/runtime/models");
  const decode = async (file: string) => decodeImage(await readFile(file), MAX_PIXELS, file);
  const train = await Promise.all(dataset.train.map(decode));
  const test = await Promise.all(dataset.test.map(async (t) => ({ image: await decode(t.file), defective: t.type !== "good" })));
  const results: Record<string, unknown> = {};
  const tables: string[] = [];
  for (const model of options.models) {
    const inner = await OnnxFeatureExtractor.load({
      onnxPath: path.join(modelDir, `${model}.onnx`),
      cardPath: path.join(modelDir, `${model}.card.json`),
      inputSize: 448,
      threads: THREADS,
    });
    const t0 = performance.now();
    const grids = (await embedImages(inner, train, { batchSize: 4 })).map((e) => e.grid);
    const embedMs = performance.now() - t0;
    const { dim } = grids[0]!;
    const all = l2NormalizeRows(concatRows(grids.map((g) => g.embeddings)), dim);
    const extractor = new CachingExtractor(inner);
    const score = async (bank: MemoryBank) => {
      const scorer = new ExactScorer(bank, THREADS);
      const scores = [];
      for (const t of test)
        scores.push(
          (
            await inspect(extractor, scorer, bank, t.image, {
              threshold: null,
              mmPerPx: 0.1,
              areaMm2Threshold: 1,
              scorePercentile: 99,
              blurSigma: 1,
              threads: THREADS,
            })
          ).score,
        );
      return auroc(
        scores,
        test.map((t) => t.defective),
      );
    };
    const byVariant: Record<string, MemoryResult[]> = {};
    const variants = [
      ...VARIANTS,
      ...(options.extraOversamples ?? []).map((o) => ({ name: `two-stage, chunks of 8, oversample ${o}`, chunkImages: 8, oversample: o })),
    ];
    for (const variant of variants) {
      const memories: MemoryResult[] = [];
      for (let seed = 0; seed < options.seeds; seed++) {
        const b0 = performance.now();
        const built =
          variant.chunkImages === null
            ? await fitMemoryBank(grids, { coresetRate: RATE, keepAll: false, seed, threads: THREADS }).then(({ bank, stats }) => ({
                bank,
                reportedRadius: stats.coveringRadius,
              }))
            : await buildTwoStage(grids, variant.chunkImages, variant.oversample, seed);
        const buildMs = performance.now() - b0;
        const { minSquared } = await nearestSquaredL2Normalised(all, built.bank.embeddings, dim, THREADS);
        let max = 0;
        let sum = 0;
        for (const v of minSquared) {
          const d = Math.sqrt(Math.max(0, v));
          if (d > max) max = d;
          sum += d;
        }
        memories.push({
          seed,
          rows: built.bank.count,
          coveringRadius: max,
          meanNearest: sum / minSquared.length,
          reportedRadius: built.reportedRadius,
          buildMs,
          imageAuroc: await score(built.bank),
        });
      }
      byVariant[variant.name] = memories;
    }
    await inner.release();
    const single = byVariant[VARIANTS[0]!.name]!;
    const lines = [
      `#### ${model}: ${train.length} training images (${all.length / dim} patches, ${dim}-d), rate ${RATE}; ${test.length} test images (${test.filter((t) => t.defective).length} defective); seeds 0..${options.seeds - 1}; embedding ${(embedMs / 1000).toFixed(1)} s`,
      "",
      "| memory | rows | covering radius, all patches: mean (min-max) | mean nearest distance: mean (min-max) | radius the fit reports | image AUROC: mean (min-max) | build ms (mean) |",
      "|---|---:|---:|---:|---:|---:|---:|",
      ...Object.entries(byVariant).map(([name, m]) => {
        const range = (pick: (r: MemoryResult) => number) => `${f4(mean(m.map(pick)))} (${f4(Math.min(...m.map(pick)))}-${f4(Math.max(...m.map(pick)))})`;
        return `| ${name} | ${m[0]!.rows} | ${range((r) => r.coveringRadius)} | ${range((r) => r.meanNearest)} | ${range((r) => r.reportedRadius)} | ${range((r) => r.imageAuroc)} | ${mean(m.map((r) => r.buildMs)).toFixed(0)} |`;
      }),
    ];
    const verdict = (name: string) => {
      const m = byVariant[name]!;
      const d = (pick: (r: MemoryResult) => number) => mean(m.map(pick)) - mean(single.map(pick));
      return (
        `${name} minus single-pass (means): covering radius ${d((r) => r.coveringRadius) >= 0 ? "+" : ""}${f4(d((r) => r.coveringRadius))} (single-pass seed spread ${f4(spread(single.map((r) => r.coveringRadius)))}), ` +
        `mean nearest ${d((r) => r.meanNearest) >= 0 ? "+" : ""}${f4(d((r) => r.meanNearest))} (spread ${f4(spread(single.map((r) => r.meanNearest)))}), ` +
        `image AUROC ${d((r) => r.imageAuroc) >= 0 ? "+" : ""}${f4(d((r) => r.imageAuroc))} (spread ${f4(spread(single.map((r) => r.imageAuroc)))})`
      );
    };
    lines.push("", ...variants.slice(1).map((v) => `- ${verdict(v.name)}`));
    tables.push(lines.join("\n"));
    results[model] = { trainImages: train.length, patches: all.length / dim, dim, embedMs, variants: byVariant };
  }
  options.print(
    [
      `### Two-stage vs single-pass coreset on ${path.basename(dataset.root)} (in-process: lib/patchcore; covering radius exact over every patch; AUROC through inspect + ExactScorer)`,
      "",
      ...tables.flatMap((t) => [t, ""]),
      `Took ${((Date.now() - started) / 1000).toFixed(0)} s (${os.cpus().length} cores).`,
    ].join("\n"),
  );
  return { folder: dataset.root, rate: RATE, seeds: options.seeds, models: results, seconds: (Date.now() - started) / 1000 };
}

/** The shared dataset where the project's checkout sits beside shared/ (as README's eval example). */
export function defaultTwoStageFolder(root: string): string | null {
  const folder = path.resolve(root, "../shared/datasets/mpdd_metal_plate");
  return existsSync(folder) ? folder : null;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const root = path.resolve(__dirname, "../..");
  const folder = positional(args, ["--models", "--seeds", "--extra-oversample"]) ?? defaultTwoStageFolder(root) ?? "/work/shared/datasets/mpdd_metal_plate";
  benchTwoStage(root, {
    folder,
    models: (flag(args, "--models") ?? "texture-s14,vit-s14-shape").split(","),
    seeds: Number(flag(args, "--seeds") ?? 3),
    extraOversamples: (flag(args, "--extra-oversample") ?? "").split(",").filter(Boolean).map(Number),
    print: (text) => console.log(text + "\n"),
  }).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
