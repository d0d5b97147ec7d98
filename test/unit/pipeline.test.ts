import path from "node:path";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { calibrate } from "../../lib/patchcore/calibration";
import { fitMemory, imageSource, inspect, scoreContentTokens, type InspectOptions } from "../../lib/patchcore/pipeline";
import { embedImages } from "../../lib/features/embed";
import { contentTokens } from "../../lib/image/letterbox";
import { gridToRoi } from "../../lib/patchcore/anomalyMap";
import { maxAbsDiff } from "../helpers/arrays";
import { ExactScorer } from "../../lib/patchcore/knn/exact";
import { Timings } from "../../lib/util/timings";
import { brushedMetal, paintSpot } from "../../scripts/synthetic/images";
import { PROJECT_ROOT } from "../helpers/testStack";
import sharp from "sharp";

const modelDir = path.join(PROJECT_ROOT, "layers/runtime/models");

describe("PatchCore engine end to end (texture model, generated 320x200 ROIs with painted spots)", () => {
  const W = 320;
  const H = 200;
  const spots = [
    { seed: 30, cx: 80, cy: 60, r: 9 },
    { seed: 31, cx: 250, cy: 150, r: 8 },
    { seed: 32, cx: 160, cy: 100, r: 10 },
    { seed: 33, cx: 40, cy: 170, r: 9 },
  ];
  let extractor: OnnxFeatureExtractor;

  beforeAll(async () => {
    extractor = await OnnxFeatureExtractor.load({
      onnxPath: path.join(modelDir, "texture-s14.onnx"),
      cardPath: path.join(modelDir, "texture-s14.card.json"),
      inputSize: 448,
      threads: 2,
    });
  });
  afterAll(() => extractor.release());

  it("fits, calibrates, finds the painted spots and passes good parts", async () => {
    const train = [1, 2, 3, 4, 5, 6].map((s) => brushedMetal(W, H, s));
    const timings = new Timings();
    const bank = await fitMemory(extractor, imageSource(train), { coresetRate: 0.1, keepAll: false, seed: 0, threads: 2, batchSize: 2, metadata: {} }, timings);
    expect(bank.metadata.n_embeddings).toBe(6 * 32 * 32);
    expect(Object.keys(timings.toJSON())).toEqual(expect.arrayContaining(["letterbox", "forward", "coreset"]));
    const scorer = new ExactScorer(bank, 2);
    const base: InspectOptions = { threshold: null, mmPerPx: 0.1, areaMm2Threshold: 0.5, scorePercentile: 99, blurSigma: 1 };

    const good = [10, 11, 12, 13, 14, 15].map((s) => brushedMetal(W, H, s));
    const defective = spots.map((s) => paintSpot(brushedMetal(W, H, s.seed), s.cx, s.cy, s.r));
    const okScores = await Promise.all(good.slice(0, 3).map(async (img) => (await inspect(extractor, scorer, bank, img, base)).score));
    const ngScores = await Promise.all(defective.slice(0, 2).map(async (img) => (await inspect(extractor, scorer, bank, img, base)).score));
    const { threshold } = calibrate({ okScores, ngScores, scorePercentile: 99, mmPerPx: 0.1, areaMm2Threshold: 0.5 });
    expect(Math.min(...ngScores)).toBeGreaterThan(Math.max(...okScores));

    for (const img of good.slice(3)) {
      const result = await inspect(extractor, scorer, bank, img, { ...base, threshold });
      expect(result.score).toBeLessThan(threshold);
      expect(result.regions).toEqual([]);
    }
    for (const [i, img] of defective.entries()) {
      const spot = spots[i]!;
      const result = await inspect(extractor, scorer, bank, img, { ...base, threshold });
      expect(result.score).toBeGreaterThan(threshold);
      expect(result.regions.length).toBeGreaterThanOrEqual(1);
      const [x, y, w, h] = result.regions[0]!.bbox; // the largest region covers the spot's centre
      expect(spot.cx).toBeGreaterThanOrEqual(x);
      expect(spot.cx).toBeLessThan(x + w);
      expect(spot.cy).toBeGreaterThanOrEqual(y);
      expect(spot.cy).toBeLessThan(y + h);
      expect(result.regions[0]!.area_mm2).toBeCloseTo(result.regions[0]!.area_px * 0.01, 10);
      expect(result.tokenShape).toEqual([32, 32]);
      const png = await sharp(result.heatmapPng).metadata();
      expect([png.width, png.height, png.channels, png.format]).toEqual([W, H, 1, "png"]);
      expect(result.areaRule).toBe("pixels");
    }
    // the old backend's area measure on request: same regions' boxes, smaller (contour) areas, and the rule reported
    const byPixels = await inspect(extractor, scorer, bank, defective[0]!, { ...base, threshold });
    const byContour = await inspect(extractor, scorer, bank, defective[0]!, { ...base, threshold, areaRule: "contour" });
    expect(byContour.areaRule).toBe("contour");
    expect(byContour.regions[0]!.bbox).toEqual(byPixels.regions[0]!.bbox);
    expect(byContour.regions[0]!.area_px).toBeLessThan(byPixels.regions[0]!.area_px);
    expect(byContour.regions[0]!.area_mm2).toBeCloseTo(byContour.regions[0]!.area_px * 0.01, 10);
  }, 60_000);

  it.each([
    [320, 200],
    [100, 400],
    [517, 389],
    [300, 300],
  ])("scores only the tokens a %ix%i ROI covers, with the same anomaly map as scoring them all", async (w, h) => {
    const bank = await fitMemory(extractor, imageSource([brushedMetal(w, h, 1)]), {
      coresetRate: 0.2,
      keepAll: false,
      seed: 0,
      threads: 2,
      batchSize: 1,
      metadata: {},
    });
    const scorer = new ExactScorer(bank, 2);
    const [embedded] = await embedImages(extractor, [paintSpot(brushedMetal(w, h, 2), w / 2, h / 2, 6)]);
    const { grid, geometry } = embedded!;
    const partial = await scoreContentTokens(scorer, grid, geometry);
    const all = await scorer.distances(grid.embeddings);
    const tokens = contentTokens(geometry);
    const scored = (tokens.lastRow - tokens.firstRow + 1) * (tokens.lastCol - tokens.firstCol + 1);
    expect(scored).toBeLessThanOrEqual(32 * 32);
    if (w !== h) expect(scored).toBeLessThan(32 * 32);
    expect(maxAbsDiff(gridToRoi(partial, geometry), gridToRoi(all, geometry))).toBeLessThan(1e-5);
  });

  it("masks: a circle away from the spot hides it; one around it keeps it", async () => {
    const bank = await fitMemory(extractor, imageSource([1, 2, 3].map((s) => brushedMetal(W, H, s))), {
      coresetRate: 0.25,
      keepAll: false,
      seed: 0,
      threads: 2,
      batchSize: 1,
      metadata: {},
    });
    const scorer = new ExactScorer(bank, 2);
    const image = paintSpot(brushedMetal(W, H, 40), 250, 150, 9);
    const base: InspectOptions = { threshold: null, mmPerPx: 0.1, areaMm2Threshold: 0.5, scorePercentile: 99, blurSigma: 1 };
    const whole = await inspect(extractor, scorer, bank, image, base);
    const around = await inspect(extractor, scorer, bank, image, { ...base, shape: { kind: "circle", cx: 250, cy: 150, r: 30 } });
    const away = await inspect(extractor, scorer, bank, image, { ...base, shape: { kind: "rect", x: 0, y: 0, w: 150, h: 200 } });
    const ring = await inspect(extractor, scorer, bank, image, { ...base, shape: { kind: "annulus", cx: 250, cy: 150, r: 80, r_inner: 40 } });
    expect(around.score).toBeGreaterThan(2 * away.score);
    expect(around.score).toBeGreaterThan(2 * ring.score);
    expect(whole.score).toBeGreaterThan(away.score);
  }, 60_000);
});
