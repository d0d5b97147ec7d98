import path from "node:path";
import { embedImages } from "../../lib/features/embed";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { decodeImage } from "../../lib/image/decode";
import { letterboxGeometry, letterboxInto } from "../../lib/image/letterbox";
import { brushedMetal, encodePng } from "../synthetic/images";
import { measure, ms, summarise, type Summary } from "./stats";

export interface ExtractionResult {
  model: string;
  modelId: string;
  inputSize: number;
  threads: number;
  roi: string;
  decode: Summary;
  letterbox: Summary;
  forward: Summary;
  /** Per-image forward time (ms, p50) by batch size. */
  batchPerImage: Record<string, number>;
}

const BATCH_SIZES = [1, 2, 4, 8];

/** Decode, letterbox and ONNX forward of one ROI image, timed separately; then batch sizes. */
export async function benchExtraction(modelDir: string, model: string, threads: number, runs: number): Promise<ExtractionResult> {
  const extractor = await OnnxFeatureExtractor.load({
    onnxPath: path.join(modelDir, `${model}.onnx`),
    cardPath: path.join(modelDir, `${model}.card.json`),
    inputSize: 448,
    threads,
  });
  const roi = brushedMetal(512, 512, 1);
  const png = await encodePng(roi);
  const decoded = await decodeImage(png, 1 << 26);
  const S = extractor.inputSize;
  const geometry = letterboxGeometry(decoded.width, decoded.height, S, extractor.card.input.patchSize);
  const pixels = new Float32Array(3 * S * S);
  const decode = await measure(runs, 3, () => decodeImage(png, 1 << 26));
  const letterbox = await measure(runs, 3, () => letterboxInto(decoded, geometry, extractor.card.input.mean, extractor.card.input.std, pixels));
  const forward = await measure(runs, 3, () => extractor.extract(pixels, 1));
  // batch sizes interleaved round by round on the same 8 images (same machine load for each)
  const images = Array.from({ length: 8 }, (_, i) => brushedMetal(512, 512, i));
  const samples: Record<string, number[]> = {};
  await embedImages(extractor, images.slice(0, 2), { batchSize: 2 }); // warm-up
  for (let round = 0; round < Math.max(2, Math.floor(runs / 6)); round++) {
    for (const batchSize of BATCH_SIZES) {
      const start = performance.now();
      await embedImages(extractor, images, { batchSize });
      (samples[String(batchSize)] ??= []).push((performance.now() - start) / images.length);
    }
  }
  const batchPerImage = Object.fromEntries(Object.entries(samples).map(([b, v]) => [b, summarise(v).p50]));
  await extractor.release();
  return {
    model,
    modelId: extractor.card.id,
    inputSize: S,
    threads,
    roi: "512x512 PNG",
    decode: summarise(decode),
    letterbox: summarise(letterbox),
    forward: summarise(forward),
    batchPerImage,
  };
}

export function extractionTable(results: readonly ExtractionResult[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.model} | ${r.threads || "all"} | ${ms(r.decode.p50)} / ${ms(r.decode.p95)} | ${ms(r.letterbox.p50)} / ${ms(r.letterbox.p95)} | ` +
      `${ms(r.forward.p50)} / ${ms(r.forward.p95)} | ${Object.entries(r.batchPerImage)
        .map(([b, v]) => `${b}: ${ms(v)}`)
        .join(", ")} |`,
  );
  const best = results.map((r) => {
    const [size, perImage] = Object.entries(r.batchPerImage).reduce((a, b) => (b[1] < a[1] ? b : a));
    const one = r.batchPerImage["1"]!;
    return `${r.model}, ${r.threads || "all"} thread(s): batch ${size} fastest per image (${ms(perImage)} ms, ${(((one - perImage) / one) * 100).toFixed(1)} % less than batch 1)`;
  });
  return [
    "### Feature extraction (one 512x512 PNG ROI -> 448 input), ms p50 / p95",
    "",
    "| model | ORT threads | decode | letterbox | forward | letterbox+forward per image by batch size (p50 over rounds, 8 images, sizes interleaved) |",
    "|---|---:|---:|---:|---:|---|",
    ...rows,
    "",
    ...best.map((b) => `- ${b}`),
  ].join("\n");
}
