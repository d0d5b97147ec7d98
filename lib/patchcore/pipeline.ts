import { embedImages, type EmbeddedImage } from "../features/embed";
import type { FeatureExtractor, PatchGrid } from "../features/extractor";
import { InvalidInputError, NotFittedError } from "../errors";
import type { RgbImage } from "../image/decode";
import { fixedScaleHeatmapPng } from "../image/fixedScaleHeatmap";
import { encodeGreyPng } from "../image/heatmapPng";
import { contentTokens, type LetterboxGeometry } from "../image/letterbox";
import { Timings } from "../util/timings";
import { gaussianBlurFast, gridToRoi } from "./anomalyMap";
import { chunkCoreset, mergeChunkCoresets, type ChunkCoreset } from "./chunkedCoreset";
import { coresetSize, kCenterGreedyFrom } from "./coreset";
import type { NearestNeighbourScorer } from "./knn/scorer";
import { checkSameGrid, fitMemoryBank, memoryBankOf, type MemoryBank, type MemoryMetadata } from "./memoryBank";
import { DEFAULT_AREA_RULE, findRegions, type AreaRule, type Region } from "./regions";
import { roiMask, type RoiShape } from "./roiMask";
import { scoreAndHeatmap } from "./score";
import { concatRows, gatherRows, l2NormalizeRows } from "./vectors";

/**
 * PatchCore end to end: the one module that puts its steps together (anomalib's vocabulary).
 *
 *   fit:        decode -> letterbox -> feature extractor -> memory bank (k-center greedy sampler)
 *   inspection: letterbox -> feature extractor -> nearest-neighbour scorer -> anomaly map
 *               -> post-processor (score, heatmap, regions)
 *
 * Production calls these functions and nothing else re-implements a step: /fit_ok (fitMemory),
 * a dataset fit's workers and coordinator (fitChunk, mergeChunks), an append (appendToMemory), /infer and batch scoring
 * (embedForInspection, inspectEmbedded). Stage times go to `timings`.
 */

/** The images of a fit, decoded on demand so a fit holds one batch of pixels at a time. */
export interface ImageSource {
  readonly count: number;
  /** The i-th image decoded, or null when it is gone (a dataset file deleted since the fit listed it). */
  decode(i: number): Promise<RgbImage | null>;
}

/** Images already decoded as a fit's source (tests, the bench). */
export function imageSource(images: readonly RgbImage[]): ImageSource {
  return { count: images.length, decode: async (i) => images[i]! };
}

export interface EmbedOptions {
  /** Images per ONNX run (batching pays off for ViT-sized models: npm run bench -- --only extraction). */
  readonly batchSize: number;
  /** Called after each batch with the grids embedded so far (a caller's time budget check). */
  readonly afterBatch?: (grids: readonly PatchGrid[]) => void;
}

/**
 * The patch grids of a fit's images, decoded and embedded `batchSize` at a time, so a fit's peak
 * memory is its patch embeddings, not its decoded pixels. Images that are gone are counted in
 * `missing`. A 400 when two images give different token grids.
 */
export async function embedForFit(
  extractor: FeatureExtractor,
  source: ImageSource,
  options: EmbedOptions,
  timings: Timings,
): Promise<{ grids: PatchGrid[]; missing: number }> {
  const grids: PatchGrid[] = [];
  let missing = 0;
  for (let start = 0; start < source.count; start += options.batchSize) {
    const images: RgbImage[] = [];
    for (let i = start; i < Math.min(start + options.batchSize, source.count); i++) {
      const image = await timings.time("decode", () => source.decode(i));
      if (image) images.push(image);
      else missing++;
    }
    for (const embedded of await embedImages(extractor, images, { batchSize: options.batchSize, timings })) grids.push(embedded.grid);
    if (grids.length === 0) continue;
    checkSameGrid(grids);
    options.afterBatch?.(grids);
  }
  return { grids, missing };
}

export interface FitOptions extends EmbedOptions {
  readonly coresetRate: number;
  /** true keeps every patch embedding (the old backend's memory_fit). */
  readonly keepAll: boolean;
  readonly seed: number;
  /** onnxruntime threads of the coreset's kernels. */
  readonly threads: number;
  /** What the fit records besides the coreset's figures (fit id, mm_per_px, identity, ...). */
  readonly metadata: MemoryMetadata;
}

/** Fit in one pass: good images -> patch grids -> memory bank (coreset unless keepAll). */
export async function fitMemory(extractor: FeatureExtractor, source: ImageSource, options: FitOptions, timings: Timings = new Timings()): Promise<MemoryBank> {
  const { grids } = await embedForFit(extractor, source, options, timings);
  const { bank } = await timings.time("coreset", () =>
    fitMemoryBank(
      grids,
      { coresetRate: options.coresetRate, keepAll: options.keepAll, seed: options.seed, threads: options.threads },
      { model_id: extractor.card.id, input_size: extractor.inputSize, ...options.metadata },
    ),
  );
  return bank;
}

/** One chunk of a fit spread over workers: its partial coreset and what the merge needs to know of it. */
export interface FitChunk {
  readonly coreset: ChunkCoreset;
  readonly tokenH: number;
  readonly tokenW: number;
  readonly dim: number;
  /** Images embedded (those gone are in `missing`). */
  readonly images: number;
  readonly missing: number;
  readonly modelId: string;
  readonly inputSize: number;
}

/** The first pass of a chunked fit, on a worker: the chunk's images embedded and reduced to `rate x oversample` of their patches. */
export async function fitChunk(
  extractor: FeatureExtractor,
  source: ImageSource,
  options: EmbedOptions & { rate: number; oversample: number; keepAll: boolean; seed: number; threads: number },
  timings: Timings,
): Promise<FitChunk> {
  const { grids, missing } = await embedForFit(extractor, source, options, timings);
  if (grids.length === 0) throw new InvalidInputError(`none of the chunk's ${source.count} images is stored any more`);
  const { h, w, dim } = grids[0]!;
  const rows = l2NormalizeRows(concatRows(grids.map((g) => g.embeddings)), dim);
  const coreset = await timings.time("coreset", () => chunkCoreset(rows, dim, options));
  return { coreset, tokenH: h, tokenW: w, dim, images: grids.length, missing, modelId: extractor.card.id, inputSize: extractor.inputSize };
}

/** The second pass of a chunked fit, on the coordinator: the chunks' coresets merged into the fit's memory bank. */
export async function mergeChunks(
  chunks: readonly FitChunk[],
  options: { rate: number; keepAll: boolean; seed: number; threads: number; metadata: MemoryMetadata },
  timings: Timings,
): Promise<MemoryBank> {
  const first = chunks[0];
  if (!first) throw new InvalidInputError("No images to fit");
  for (const [i, c] of chunks.entries()) {
    if (c.dim !== first.dim || c.tokenH !== first.tokenH || c.tokenW !== first.tokenW) {
      throw new InvalidInputError(
        `Token grid mismatch: chunk 0 gives ${first.tokenH}x${first.tokenW}x${first.dim}, chunk ${i} gives ${c.tokenH}x${c.tokenW}x${c.dim}`,
      );
    }
  }
  const merged = await timings.time("coreset_merge", () =>
    mergeChunkCoresets(
      chunks.map((c) => c.coreset),
      first.dim,
      options,
    ),
  );
  const nImages = chunks.reduce((sum, c) => sum + c.images, 0);
  return memoryBankOf(
    merged.rows,
    first.dim,
    { h: first.tokenH, w: first.tokenW },
    merged.stats,
    { keepAll: options.keepAll, seed: options.seed, nImages },
    { model_id: first.modelId, input_size: first.inputSize, ...options.metadata },
  );
}

/** A memory to append to: its rows as stored (so the new memory keeps them bit for bit) and as scored (L2-normalised). */
export interface AppendParent {
  /** Float32Array [count, dim]: the rows exactly as the parent's .npz holds them. */
  readonly storedRows: Float32Array;
  readonly bank: MemoryBank;
}

/** What an append added to its parent. */
export interface Appended {
  readonly images: number;
  readonly patches: number;
  readonly rowsAdded: number;
}

/**
 * Teaches a memory good images (a false alarm's image, say): their patches, then k-center greedy
 * seeded with every row of the parent, each added row the patch farthest from everything kept;
 * `rate` x the new patches at most (all of them for a memory_fit parent). The new memory is the
 * parent's rows, unchanged, then the added ones: it holds every row the parent held, so with an
 * exact nearest-neighbour search (exact or two-stage) no anomaly-map value of any image can rise.
 */
export async function appendToMemory(
  extractor: FeatureExtractor,
  parent: AppendParent,
  source: ImageSource,
  options: EmbedOptions & { readonly rate: number; readonly threads: number; readonly metadata: MemoryMetadata },
  timings: Timings,
): Promise<{ bank: MemoryBank; appended: Appended }> {
  const { grids } = await embedForFit(extractor, source, options, timings);
  if (grids.length === 0) throw new InvalidInputError("No images to append");
  const { bank: p } = parent;
  checkMemoryMatches(p, grids[0]!, extractor.card.id);
  const { dim } = p;
  const candidates = l2NormalizeRows(concatRows(grids.map((g) => g.embeddings)), dim);
  const patches = candidates.length / dim;
  const keepAll = p.metadata.memory_fit === true;
  const picked = keepAll
    ? { indices: Int32Array.from({ length: patches }, (_, i) => i), coveringRadius: 0 }
    : await timings.time("coreset", () => kCenterGreedyFrom(p.embeddings, candidates, dim, coresetSize(patches, options.rate), options.threads));
  const rows = concatRows([parent.storedRows, gatherRows(candidates, dim, picked.indices)]);
  const count = rows.length / dim;
  const parentPatches = typeof p.metadata.n_embeddings === "number" ? p.metadata.n_embeddings : p.count;
  const parentRadius = typeof p.metadata.covering_radius === "number" ? p.metadata.covering_radius : 0;
  const nEmbeddings = parentPatches + patches;
  const bank = memoryBankOf(
    rows,
    dim,
    { h: p.tokenH, w: p.tokenW },
    {
      nEmbeddings,
      coresetSize: count,
      rateRequested: typeof p.metadata.coreset_rate_requested === "number" ? p.metadata.coreset_rate_requested : options.rate,
      rateApplied: count / nEmbeddings,
      coveringRadius: Math.max(parentRadius, picked.coveringRadius),
    },
    {
      keepAll,
      seed: typeof p.metadata.seed === "number" ? p.metadata.seed : 0,
      nImages: (typeof p.metadata.n_images === "number" ? p.metadata.n_images : 0) + grids.length,
    },
    { model_id: extractor.card.id, input_size: extractor.inputSize, ...options.metadata },
  );
  return { bank, appended: { images: grids.length, patches, rowsAdded: picked.indices.length } };
}

export interface InspectOptions {
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
  /**
   * Also colour the map on a fixed scale (lib/image/fixedScaleHeatmap.ts) anchored at this value
   * (> 0), or at the image's own score when the model has no anchor; absent: not made.
   */
  readonly fixedScaleAnchor?: number | "score";
}

export interface InspectionResult {
  readonly score: number;
  readonly heatmapPng: Buffer;
  readonly regions: Region[];
  /** The area rule the regions were measured with (for the response to report). */
  readonly areaRule: AreaRule;
  readonly tokenShape: [number, number];
  /** Float32Array [roiHeight, roiWidth] when keepMap. */
  readonly anomalyMap?: Float32Array;
  /** RGBA PNG of the map on the fixed scale and the anchor used, when fixedScaleAnchor was given. */
  readonly fixedScale?: { readonly png: Buffer; readonly anchor: number };
}

/**
 * The forward half of inspections (letterbox + ONNX, `batchSize` images per run). It needs no
 * stored artefact, so /infer runs it while the memory, calibration and recipe load, then
 * finishes each image with inspectEmbedded.
 */
export function embedForInspection(extractor: FeatureExtractor, images: readonly RgbImage[], batchSize: number, timings: Timings): Promise<EmbeddedImage[]> {
  return embedImages(extractor, images, { batchSize, timings });
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

/** A 400 (or not_fitted) when the memory was fitted on another model or token grid than the image gives. */
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

/**
 * The rest of an inspection, from the image's patch embeddings: kNN, anomaly map, score, heatmap,
 * regions. `mask` is roiMask(shape) of the image, built by the caller before the forward (a shape
 * covering no pixel fails before any heavy work).
 */
export async function inspectEmbedded(
  embedded: EmbeddedImage,
  modelId: string,
  scorer: NearestNeighbourScorer,
  bank: MemoryBank,
  image: RgbImage,
  mask: Uint8Array,
  options: InspectOptions,
  timings: Timings,
): Promise<InspectionResult> {
  const { width: W, height: H } = image;
  const { grid, geometry } = embedded;
  checkMemoryMatches(bank, grid, modelId);
  const patchScores = await timings.time("knn", () => scoreContentTokens(scorer, grid, geometry));
  const map = await timings.time("anomaly_map", () => gaussianBlurFast(gridToRoi(patchScores, geometry), W, H, options.blurSigma, options.threads ?? 0));
  const { score, heatmap } = await timings.time("score", () => scoreAndHeatmap(map, mask, options.scorePercentile));
  // sharp encodes on libuv's thread pool: let it run while this thread finds the regions
  const pngStart = performance.now();
  const encoding = encodeGreyPng(heatmap, W, H);
  const anchor = options.fixedScaleAnchor === "score" ? score : options.fixedScaleAnchor;
  const fixedScale = anchor === undefined || !(anchor > 0) ? undefined : fixedScaleHeatmapPng(map, mask, W, H, anchor).then((png) => ({ png, anchor }));
  const areaRule = options.areaRule ?? DEFAULT_AREA_RULE;
  const threshold = options.threshold;
  const regions =
    threshold === null
      ? []
      : await timings.time("regions", () => findRegions(map, mask, W, H, threshold, options.mmPerPx, options.areaMm2Threshold, { areaRule }));
  const regionsEnd = performance.now();
  const heatmapPng = await encoding;
  const fixedScaleHeatmap = await fixedScale;
  timings.add("png (after regions)", performance.now() - regionsEnd);
  timings.add("png_encode_wall", performance.now() - pngStart);
  return {
    score,
    heatmapPng,
    regions,
    areaRule,
    tokenShape: [grid.h, grid.w],
    ...(options.keepMap ? { anomalyMap: map } : {}),
    ...(fixedScaleHeatmap ? { fixedScale: fixedScaleHeatmap } : {}),
  };
}

/** One whole inspection (the ROI mask, the forward, the rest): what /infer does, without the store. */
export async function inspect(
  extractor: FeatureExtractor,
  scorer: NearestNeighbourScorer,
  bank: MemoryBank,
  image: RgbImage,
  options: InspectOptions & { readonly shape?: RoiShape },
  timings: Timings = new Timings(),
): Promise<InspectionResult> {
  const mask = roiMask(options.shape, image.width, image.height);
  const [embedded] = await embedForInspection(extractor, [image], 1, timings);
  return inspectEmbedded(embedded!, extractor.card.id, scorer, bank, image, mask, options, timings);
}
