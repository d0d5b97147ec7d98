import { embedImages, type EmbeddedImage } from "../features/embed";
import type { FeatureExtractor, PatchGrid } from "../features/extractor";
import { contentTokens, type LetterboxGeometry } from "../image/letterbox";
import { InvalidInputError, NotFittedError } from "../errors";
import type { RgbImage } from "../image/decode";
import { encodeGreyPng } from "../image/heatmapPng";
import { Timings } from "../util/timings";
import { gaussianBlurFast, gridToRoi } from "./anomalyMap";
import type { NearestNeighbourScorer } from "./knn/scorer";
import { fitMemoryBank, type FitStats, type MemoryBank, type MemoryMetadata } from "./memoryBank";
import { DEFAULT_AREA_RULE, findRegions, type AreaRule, type Region } from "./regions";
import { roiMask, type RoiShape } from "./roiMask";
import { scoreAndHeatmap } from "./score";

/**
 * PatchCore end to end (vocabulary of anomalib): feature extractor -> memory bank (k-center
 * greedy sampler) at fit; feature extractor -> nearest-neighbour scorer -> anomaly map generator
 * -> post-processor (score, heatmap, regions) at inference. Stage times go to `timings`.
 */

export interface FitImagesOptions {
  readonly coresetRate: number;
  readonly keepAll: boolean;
  readonly seed: number;
  readonly threads: number;
  /** Images per ONNX run (batching pays off for ViT-sized models: see npm run bench). */
  readonly batchSize: number;
  readonly metadata?: MemoryMetadata;
}

export async function fitFromImages(
  extractor: FeatureExtractor,
  images: readonly RgbImage[],
  options: FitImagesOptions,
  timings: Timings = new Timings(),
): Promise<{ bank: MemoryBank; stats: FitStats }> {
  const embedded = await embedImages(extractor, images, { batchSize: options.batchSize, timings });
  return timings.time("coreset", () =>
    fitMemoryBank(
      embedded.map((e) => e.grid),
      { coresetRate: options.coresetRate, keepAll: options.keepAll, seed: options.seed, threads: options.threads },
      { model_id: extractor.card.id, input_size: extractor.inputSize, ...options.metadata },
    ),
  );
}

export interface InferOptions {
  /** The ROI mask's shape (inferImage builds the mask from it; scoreEmbedded takes the mask itself). */
  readonly shape?: RoiShape;
  /** null until calibrated: then no regions. */
  readonly threshold: number | null;
  readonly mmPerPx: number;
  readonly areaMm2Threshold: number;
  /** How region areas are measured (area_px, area_mm2, small-island filter); default "pixels". */
  readonly areaRule?: AreaRule;
  readonly scorePercentile: number;
  readonly blurSigma: number;
  /** Also return the blurred anomaly map (for evaluation; off in normal responses). */
  readonly keepMap?: boolean;
  /** onnxruntime threads for the blur; 0 or absent = onnxruntime's default. */
  readonly threads?: number;
}

export interface InferResult {
  readonly score: number;
  readonly heatmapPng: Buffer;
  readonly regions: Region[];
  /** The area rule the regions were measured with (for the response to report). */
  readonly areaRule: AreaRule;
  readonly tokenShape: [number, number];
  /** Float32Array [roiHeight, roiWidth] when keepMap. */
  readonly anomalyMap?: Float32Array;
}

/**
 * Nearest-neighbour distance of each token, Float32Array [h*w]. Only the tokens overlapping the
 * ROI are scored (the anomaly map never reads the others; they stay 0): a letterboxed non-square
 * ROI costs proportionally less kNN. The scorer L2-normalises the embeddings.
 */
export async function scoreContentTokens(scorer: NearestNeighbourScorer, grid: PatchGrid, geometry: LetterboxGeometry): Promise<Float32Array> {
  const { firstRow, lastRow, firstCol, lastCol } = contentTokens(geometry);
  const rows = lastRow - firstRow + 1;
  const cols = lastCol - firstCol + 1;
  if (rows === grid.h && cols === grid.w) return scorer.distances(grid.embeddings);
  const { dim } = grid;
  const queries = new Float32Array(rows * cols * dim); // [rows * cols, dim]
  for (let r = 0; r < rows; r++) {
    const from = ((firstRow + r) * grid.w + firstCol) * dim;
    queries.set(grid.embeddings.subarray(from, from + cols * dim), r * cols * dim);
  }
  const distances = await scorer.distances(queries);
  const out = new Float32Array(grid.h * grid.w);
  for (let r = 0; r < rows; r++) out.set(distances.subarray(r * cols, (r + 1) * cols), (firstRow + r) * grid.w + firstCol);
  return out;
}

export function checkMemoryMatches(bank: MemoryBank, grid: { h: number; w: number; dim: number }, modelId: string): void {
  if (bank.dim !== grid.dim) {
    throw new NotFittedError(
      `Memory does not match the model: it has ${bank.dim}-d embeddings (model ${String(bank.metadata.model_id ?? "unknown")}), ` +
        `the service's model ${modelId} gives ${grid.dim}-d: run /fit_ok again`,
    );
  }
  if (bank.tokenH !== grid.h || bank.tokenW !== grid.w) {
    throw new InvalidInputError(`Token grid mismatch: the memory was fitted on ${bank.tokenH}x${bank.tokenW} tokens, this image gives ${grid.h}x${grid.w}`);
  }
}

export async function inferImage(
  extractor: FeatureExtractor,
  scorer: NearestNeighbourScorer,
  bank: MemoryBank,
  image: RgbImage,
  options: InferOptions,
  timings: Timings = new Timings(),
): Promise<InferResult> {
  const mask = roiMask(options.shape, image.width, image.height); // a shape covering no pixel fails before any heavy work
  return scoreEmbedded(await embedForInference(extractor, image, timings), extractor.card.id, scorer, bank, image, mask, options, timings);
}

/**
 * The forward half of an inference (letterbox + ONNX). It needs no stored artefact, so a caller
 * can run it while the memory, calibration and recipe load, then finish with scoreEmbedded.
 */
export async function embedForInference(extractor: FeatureExtractor, image: RgbImage, timings: Timings): Promise<EmbeddedImage> {
  const [embedded] = await embedImages(extractor, [image], { timings });
  return embedded!;
}

/**
 * The rest of an inference, from the image's patch embeddings: kNN, anomaly map, score, heatmap,
 * regions. `mask` is roiMask(options.shape) of the image, built by the caller before the forward.
 */
export async function scoreEmbedded(
  embedded: EmbeddedImage,
  modelId: string,
  scorer: NearestNeighbourScorer,
  bank: MemoryBank,
  image: RgbImage,
  mask: Uint8Array,
  options: InferOptions,
  timings: Timings,
): Promise<InferResult> {
  const { width: W, height: H } = image;
  const { grid, geometry } = embedded;
  checkMemoryMatches(bank, grid, modelId);
  const patchScores = await timings.time("knn", () => scoreContentTokens(scorer, grid, geometry));
  const map = await timings.time("anomaly_map", () => gaussianBlurFast(gridToRoi(patchScores, geometry), W, H, options.blurSigma, options.threads ?? 0));
  const { score, heatmap } = await timings.time("score", () => scoreAndHeatmap(map, mask, options.scorePercentile));
  // sharp encodes on libuv's thread pool: let it run while this thread finds the regions
  const pngStart = performance.now();
  const encoding = encodeGreyPng(heatmap, W, H);
  const areaRule = options.areaRule ?? DEFAULT_AREA_RULE;
  const regions =
    options.threshold === null
      ? []
      : await timings.time("regions", () => findRegions(map, mask, W, H, options.threshold!, options.mmPerPx, options.areaMm2Threshold, { areaRule }));
  const regionsEnd = performance.now();
  const heatmapPng = await encoding;
  timings.add("png (after regions)", performance.now() - regionsEnd);
  timings.add("png_encode_wall", performance.now() - pngStart);
  return { score, heatmapPng, regions, areaRule, tokenShape: [grid.h, grid.w], ...(options.keepMap ? { anomalyMap: map } : {}) };
}
