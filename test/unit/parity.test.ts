import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { embedImages } from "../../lib/features/embed";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { letterboxGeometry } from "../../lib/image/letterbox";
import { gaussianBlurFast, gridToRoi } from "../../lib/patchcore/anomalyMap";
import { inspect, scoreContentTokens, type InspectOptions } from "../../lib/patchcore/pipeline";
import { ExactScorer } from "../../lib/patchcore/knn/exact";
import type { MemoryBank } from "../../lib/patchcore/memoryBank";
import { findRegions, type AreaRule, type Region } from "../../lib/patchcore/regions";
import { scoreAndHeatmap } from "../../lib/patchcore/score";
import { fixtureArray, loadNpz } from "../helpers/npzFixture";
import { PROJECT_ROOT } from "../helpers/testStack";

/**
 * Parity with the old backend after the forward pass: the same memory and patch embeddings
 * through this service's engine (kNN -> anomaly map -> blur -> score, heatmap -> regions) give
 * what the old backend's algorithm gives, replayed with numpy + OpenCV by
 * test/fixtures/parity/make_parity.py (fixtures in that folder).
 */
interface ParityRegion {
  bbox: [number, number, number, number];
  area_px: number;
  area_mm2: number;
}
interface ParityCase {
  name: string;
  width: number;
  height: number;
  input_size: number;
  token_grid: [number, number];
  content_rows: [number, number];
  stride: number;
  threshold: number;
  area_mm2_thr: number;
  score: number;
  regions: Record<AreaRule, ParityRegion[]>;
  aligned: boolean;
  old_whole_grid?: { score: number; regions: ParityRegion[] };
}
const dir = path.join(__dirname, "../fixtures/parity");
const parity = JSON.parse(readFileSync(path.join(dir, "parity.json"), "utf8")) as {
  sigma: number;
  ksize: number;
  score_percentile: number;
  mm_per_px: number;
  patch_size: number;
  cases: ParityCase[];
};

/** The engine's steps after the forward pass, as inspect runs them (no shape: whole ROI). */
async function engine(c: ParityCase) {
  const arrays = loadNpz(path.join(dir, `${c.name}.npz`));
  const memory = fixtureArray<Float32Array>(arrays, "memory");
  const embeddings = fixtureArray<Float32Array>(arrays, "embeddings");
  const [count, dim] = memory.shape as [number, number];
  const [h, w] = c.token_grid;
  const bank = { embeddings: memory.data, count, dim, tokenH: h, tokenW: w, metadata: {} };
  const geometry = letterboxGeometry(c.width, c.height, c.input_size, parity.patch_size);
  const distances = await scoreContentTokens(new ExactScorer(bank, 1), { embeddings: embeddings.data, h, w, dim }, geometry);
  const map = await gaussianBlurFast(gridToRoi(distances, geometry), c.width, c.height, parity.sigma, 1);
  const mask = new Uint8Array(c.width * c.height).fill(1);
  const { score, heatmap } = scoreAndHeatmap(map, mask, parity.score_percentile);
  const regions = (rule: AreaRule) => findRegions(map, mask, c.width, c.height, c.threshold, parity.mm_per_px, c.area_mm2_thr, { areaRule: rule });
  return { arrays, distances, map, score, heatmap, regions };
}

/** Every `stride`-th row and column of a [height, width] map, as numpy's m[::s, ::s]. */
function sample<T extends Float32Array | Uint8Array>(map: T, width: number, height: number, stride: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < height; y += stride) for (let x = 0; x < width; x += stride) out.push(map[y * width + x]!);
  return out;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const comparable = (regions: readonly (Region | ParityRegion)[]) =>
  regions.map((r) => ({ bbox: r.bbox, area_px: r.area_px, area_mm2: Number(r.area_mm2.toPrecision(10)) }));

describe("parity with the old backend's post-processing (make_parity.py: numpy + OpenCV)", () => {
  it("the fixtures use the old backend's 7-tap blur at sigma 1", () => {
    expect([parity.sigma, parity.ksize]).toEqual([1, 7]);
  });

  const squares = parity.cases.filter((c) => !c.aligned);
  it.each(squares.map((c) => [c.name, c]))("%s: token distances, map, score, heatmap and regions under both area rules", async (_name, c) => {
    const { arrays, distances, map, score, heatmap, regions } = await engine(c);
    expect(maxAbs(distances, fixtureArray<Float32Array>(arrays, "distances").data)).toBeLessThan(1e-5);
    expect(maxAbs(sample(map, c.width, c.height, c.stride), fixtureArray<Float32Array>(arrays, "map_sample").data)).toBeLessThan(1e-4);
    expect(Math.abs(score - c.score) / c.score).toBeLessThan(1e-5);
    expect(maxAbs(sample(heatmap, c.width, c.height, c.stride), fixtureArray<Uint8Array>(arrays, "heat_sample").data)).toBeLessThanOrEqual(1);
    expect(comparable(regions("contour"))).toEqual(comparable(c.regions.contour));
    expect(comparable(regions("pixels"))).toEqual(comparable(c.regions.pixels));
    // the area threshold was picked so that the two rules keep different islands
    expect(c.regions.pixels.length).toBeGreaterThan(c.regions.contour.length);
  });

  const wide = parity.cases.filter((c) => c.aligned);
  it("has a non-square case", () => expect(wide.length).toBeGreaterThan(0));

  it.each(wide.map((c) => [c.name, c]))(
    "%s (letterboxed, content on whole tokens): equals the old algorithm on the tokens the ROI occupies, and differs on purpose from the old backend's grid-over-the-whole-ROI",
    async (_name, c) => {
      const { arrays, distances, map, score, heatmap, regions } = await engine(c);
      const [h, w] = c.token_grid;
      const [r0, r1] = c.content_rows;
      // only the content rows are scored (padding tokens are never read)
      const expected = fixtureArray<Float32Array>(arrays, "distances").data;
      expect(maxAbs(distances.subarray(r0 * w, r1 * w), expected.subarray(r0 * w, r1 * w))).toBeLessThan(1e-5);
      expect(h).toBe(w);
      const mapSample = sample(map, c.width, c.height, c.stride);
      expect(maxAbs(mapSample, fixtureArray<Float32Array>(arrays, "map_sample").data)).toBeLessThan(1e-4);
      expect(Math.abs(score - c.score) / c.score).toBeLessThan(1e-5);
      expect(maxAbs(sample(heatmap, c.width, c.height, c.stride), fixtureArray<Uint8Array>(arrays, "heat_sample").data)).toBeLessThanOrEqual(1);
      expect(comparable(regions("contour"))).toEqual(comparable(c.regions.contour));
      expect(comparable(regions("pixels"))).toEqual(comparable(c.regions.pixels));

      // the deliberate difference: the old backend stretched all 32 token rows (16 of them padding)
      // over the ROI's height, so its defect sits at another place with another shape
      const old = c.old_whole_grid!;
      expect(maxAbs(mapSample, fixtureArray<Float32Array>(arrays, "old_map_sample").data)).toBeGreaterThan(0.1);
      const ours = regions("contour")[0]!.bbox;
      const theirs = old.regions[0]!.bbox;
      expect(theirs[0]).toBe(ours[0]); // same columns: the content spans the input's full width
      expect(theirs[2]).toBe(ours[2]);
      expect(theirs[1]).not.toBe(ours[1]); // rows: shifted ...
      expect(theirs[3]).toBeLessThan(ours[3]); // ... and squeezed to about half the height
    },
  );
});

/**
 * The whole /infer pipeline, letterbox resize included, on square ROIs that need it (900 and 517
 * px shrink, 300 px grows), with the project's deterministic texture model standing in for
 * DINOv2 on both sides: test/fixtures/parity/make_parity_e2e.py ran the old backend's Pillow
 * letterbox + onnxruntime forward + post-processing.
 */
interface E2eCase {
  name: string;
  width: number;
  height: number;
  token_grid: [number, number];
  stride: number;
  threshold: number;
  area_mm2_thr: number;
  score: number;
  regions: Record<AreaRule, ParityRegion[]>;
}
const e2e = JSON.parse(readFileSync(path.join(dir, "e2e.json"), "utf8")) as { model_id: string; model_sha256: string; mm_per_px: number; cases: E2eCase[] };
const modelDir = path.join(PROJECT_ROOT, "layers/runtime/models");

describe("end-to-end parity with the old backend on resized square ROIs (texture model, make_parity_e2e.py)", () => {
  let extractor: OnnxFeatureExtractor;
  let bank: MemoryBank;

  beforeAll(async () => {
    const onnxPath = path.join(modelDir, "texture-s14.onnx");
    const sha = createHash("sha256").update(readFileSync(onnxPath)).digest("hex");
    if (sha !== e2e.model_sha256) {
      throw new Error(
        `${onnxPath} is not the model the fixtures were made with (${e2e.model_id}, sha256 ${e2e.model_sha256}): rerun test/fixtures/parity/make_parity_e2e.py`,
      );
    }
    extractor = await OnnxFeatureExtractor.load({ onnxPath, cardPath: path.join(modelDir, "texture-s14.card.json"), inputSize: 448, threads: 1 });
    const memory = fixtureArray<Float32Array>(loadNpz(path.join(dir, "e2e_memory.npz")), "memory");
    const [count, dim] = memory.shape as [number, number];
    bank = { embeddings: memory.data, count, dim, tokenH: 32, tokenW: 32, metadata: {} };
  });
  afterAll(() => extractor?.release());

  it.each(e2e.cases.map((c) => [c.name, c]))("%s: tokens, map, score, heatmap and regions", async (_name, c) => {
    const arrays = loadNpz(path.join(dir, `${c.name}.npz`));
    const image = { width: c.width, height: c.height, data: fixtureArray<Uint8Array>(arrays, "image").data };
    const scorer = new ExactScorer(bank, 1);
    const [embedded] = await embedImages(extractor, [image]);
    const distances = await scoreContentTokens(scorer, embedded!.grid, embedded!.geometry);
    expect(maxAbs(distances, fixtureArray<Float32Array>(arrays, "distances").data)).toBeLessThan(1e-5);
    const options: InspectOptions = {
      threshold: c.threshold,
      mmPerPx: e2e.mm_per_px,
      areaMm2Threshold: c.area_mm2_thr,
      scorePercentile: 99,
      blurSigma: 1,
      keepMap: true,
      threads: 1,
    };
    const byContour = await inspect(extractor, scorer, bank, image, { ...options, areaRule: "contour" });
    expect(Math.abs(byContour.score - c.score) / c.score).toBeLessThan(1e-5);
    expect(maxAbs(sample(byContour.anomalyMap!, c.width, c.height, c.stride), fixtureArray<Float32Array>(arrays, "map_sample").data)).toBeLessThan(1e-4);
    const { data: png, info } = await sharp(byContour.heatmapPng).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([c.width, c.height, 1]);
    expect(maxAbs(sample(new Uint8Array(png), c.width, c.height, c.stride), fixtureArray<Uint8Array>(arrays, "heat_sample").data)).toBeLessThanOrEqual(1);
    expect(comparable(byContour.regions)).toEqual(comparable(c.regions.contour));
    const byPixels = await inspect(extractor, scorer, bank, image, options);
    expect(comparable(byPixels.regions)).toEqual(comparable(c.regions.pixels));
  });
});
