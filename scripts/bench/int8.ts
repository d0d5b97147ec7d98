import path from "node:path";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import type { RgbImage } from "../../lib/image/decode";
import { calibrate } from "../../lib/patchcore/calibration";
import { fitMemory, imageSource, inspect, type InspectionResult } from "../../lib/patchcore/pipeline";
import { ExactScorer } from "../../lib/patchcore/knn/exact";
import { Timings } from "../../lib/util/timings";
import { brushedMetal, paintSpot } from "../synthetic/images";
import { ms, summarise } from "./stats";

export interface Int8Comparison {
  fp32: string;
  int8: string;
  images: { good: number; defective: number };
  /** Spearman rank correlation of the image scores (fp32 vs int8, same images). */
  scoreRankCorrelation: number;
  /** Largest relative difference of an image score. */
  maxScoreRelDiff: number;
  /** Per defective image: intersection over union of the above-threshold pixels (each model with its own calibrated threshold). */
  regionIoU: { mean: number; min: number };
  /** Images judged the same way (a region found or not) by both. */
  sameVerdict: number;
  forwardMs: { fp32: number; int8: number };
  inferMs: { fp32: number; int8: number };
}

/** Spearman's rho (average ranks for ties). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ranks = (v: readonly number[]) => {
    const order = v.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(v.length);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

/**
 * The int8 model against its fp32 original on the same images, through the real engine: each fits
 * its own memory (2 % coreset of 10 good images), calibrates its threshold on 4 held-out good
 * images (99th percentile, as /calibrate_ng without NG scores), then scores the same 6 good and 6
 * defective images (a painted spot, radius 4-14 px). Forwards are timed interleaved.
 */
export async function benchInt8(modelDir: string, fp32Name: string, int8Name: string, threads: number, runs: number): Promise<Int8Comparison> {
  const load = (name: string) =>
    OnnxFeatureExtractor.load({ onnxPath: path.join(modelDir, `${name}.onnx`), cardPath: path.join(modelDir, `${name}.card.json`), inputSize: 448, threads });
  const models = { fp32: await load(fp32Name), int8: await load(int8Name) };
  const train = Array.from({ length: 10 }, (_, i) => brushedMetal(448, 448, 100 + i));
  const heldOut = Array.from({ length: 4 }, (_, i) => brushedMetal(448, 448, 500 + i));
  const good = Array.from({ length: 6 }, (_, i) => brushedMetal(448, 448, 700 + i));
  const defective = Array.from({ length: 6 }, (_, i) => paintSpot(brushedMetal(448, 448, 800 + i), 120 + 40 * i, 300 - 25 * i, 4 + 2 * i));
  const tests: RgbImage[] = [...good, ...defective];

  const results: Record<"fp32" | "int8", InspectionResult[]> = { fp32: [], int8: [] };
  const thresholds: Record<string, number> = {};
  const inferTimes: Record<string, number[]> = { fp32: [], int8: [] };
  const options = (threshold: number | null) => ({ threshold, mmPerPx: 0.1, areaMm2Threshold: 0.5, scorePercentile: 99, blurSigma: 1, keepMap: true, threads });
  const fitted: Record<string, { scorer: ExactScorer; bank: Awaited<ReturnType<typeof fitMemory>> }> = {};
  for (const key of ["fp32", "int8"] as const) {
    const bank = await fitMemory(models[key], imageSource(train), { coresetRate: 0.02, keepAll: false, seed: 0, threads, batchSize: 1, metadata: {} });
    const scorer = new ExactScorer(bank, threads);
    fitted[key] = { scorer, bank };
    const okScores: number[] = [];
    for (const image of heldOut) okScores.push((await inspect(models[key], scorer, bank, image, options(null))).score);
    thresholds[key] = calibrate({ okScores, ngScores: null, scorePercentile: 99, mmPerPx: 0.1, areaMm2Threshold: 0.5 }).threshold;
  }
  for (const image of tests) {
    for (const key of ["fp32", "int8"] as const) {
      const start = performance.now();
      results[key].push(await inspect(models[key], fitted[key]!.scorer, fitted[key]!.bank, image, options(thresholds[key]!), new Timings()));
      inferTimes[key]!.push(performance.now() - start);
    }
  }

  const forward: Record<string, number[]> = { fp32: [], int8: [] };
  const pixels = new Float32Array(3 * 448 * 448).map((_, i) => Math.sin(i * 0.001));
  for (let round = 0; round < Math.max(3, runs >> 1) + 1; round++) {
    for (const key of ["fp32", "int8"] as const) {
      const start = performance.now();
      await models[key].extract(pixels, 1);
      if (round > 0) forward[key]!.push(performance.now() - start);
    }
  }

  const scoresA = results.fp32.map((r) => r.score);
  const scoresB = results.int8.map((r) => r.score);
  let maxRel = 0;
  for (let i = 0; i < scoresA.length; i++) maxRel = Math.max(maxRel, Math.abs(scoresB[i]! - scoresA[i]!) / Math.abs(scoresA[i]!));
  const ious: number[] = [];
  let sameVerdict = 0;
  tests.forEach((_, i) => {
    const a = results.fp32[i]!;
    const b = results.int8[i]!;
    if (a.regions.length > 0 === b.regions.length > 0) sameVerdict++;
    if (i < good.length) return;
    let inter = 0;
    let union = 0;
    for (let p = 0; p < a.anomalyMap!.length; p++) {
      const x = a.anomalyMap![p]! >= thresholds.fp32!;
      const y = b.anomalyMap![p]! >= thresholds.int8!;
      if (x && y) inter++;
      if (x || y) union++;
    }
    ious.push(union === 0 ? 1 : inter / union);
  });
  await models.fp32.release();
  await models.int8.release();
  return {
    fp32: fp32Name,
    int8: int8Name,
    images: { good: good.length, defective: defective.length },
    scoreRankCorrelation: spearman(scoresA, scoresB),
    maxScoreRelDiff: maxRel,
    regionIoU: { mean: ious.reduce((s, x) => s + x, 0) / ious.length, min: Math.min(...ious) },
    sameVerdict: sameVerdict / tests.length,
    forwardMs: { fp32: summarise(forward.fp32!).p50, int8: summarise(forward.int8!).p50 },
    inferMs: { fp32: summarise(inferTimes.fp32!).p50, int8: summarise(inferTimes.int8!).p50 },
  };
}

export function int8Table(c: Int8Comparison): string {
  return [
    `### int8 model vs fp32 (${c.int8} vs ${c.fp32}), same images, in-process engine, 2 threads`,
    "",
    "**Measured on random weights**: the ViT-S/14-shaped model's features mean nothing, so this says how much dynamic int8 quantisation moves its outputs and answers, not how well a real int8 DINOv2 would inspect. The default model stays fp32.",
    "",
    "| | value |",
    "|---|---:|",
    `| images | ${c.images.good} good + ${c.images.defective} defective |`,
    `| image-score rank correlation (Spearman) | ${c.scoreRankCorrelation.toFixed(4)} |`,
    `| max relative image-score difference | ${(c.maxScoreRelDiff * 100).toFixed(2)} % |`,
    `| region overlap (IoU of above-threshold pixels, defective images): mean / min | ${c.regionIoU.mean.toFixed(3)} / ${c.regionIoU.min.toFixed(3)} |`,
    `| same verdict (a region or none) | ${(c.sameVerdict * 100).toFixed(0)} % |`,
    `| forward p50 fp32 / int8 (interleaved) | ${ms(c.forwardMs.fp32)} / ${ms(c.forwardMs.int8)} ms (x${(c.forwardMs.fp32 / c.forwardMs.int8).toFixed(2)}) |`,
    `| whole inference p50 fp32 / int8 | ${ms(c.inferMs.fp32)} / ${ms(c.inferMs.int8)} ms |`,
    "",
    "The offline default model (texture-s14) has no int8 variant: it is a fixed filter bank of convolutions, no MatMul weights to quantise, ~14 ms a forward; so no dataset AUROC with int8 here.",
  ].join("\n");
}
