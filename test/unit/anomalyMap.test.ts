import { letterboxGeometry } from "../../lib/image/letterbox";
import { gaussianBlur, gaussianBlurFast, gaussianKernel, gaussianKernelSize, gridToRoi, reflect101 } from "../../lib/patchcore/anomalyMap";
import { SeededRandom } from "../../lib/random";
import { argmax, maxAbsDiff, maxOf, minOf } from "../helpers/arrays";

/** Naive reference: OpenCV INTER_LINEAR of a [gh, gw] grid to [H, W] (half-pixel centres, clamped). */
function naiveResize(grid: Float32Array, gh: number, gw: number, W: number, H: number): Float64Array {
  const out = new Float64Array(W * H);
  const at = (r: number, c: number) => grid[Math.min(gh - 1, Math.max(0, r)) * gw + Math.min(gw - 1, Math.max(0, c))]!;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const sy = Math.min(Math.max((y + 0.5) * (gh / H) - 0.5, 0), gh - 1);
      const sx = Math.min(Math.max((x + 0.5) * (gw / W) - 0.5, 0), gw - 1);
      const r = Math.floor(sy);
      const c = Math.floor(sx);
      const fy = sy - r;
      const fx = sx - c;
      out[y * W + x] = (1 - fy) * ((1 - fx) * at(r, c) + fx * at(r, c + 1)) + fy * ((1 - fx) * at(r + 1, c) + fx * at(r + 1, c + 1));
    }
  return out;
}

/** Naive reference: 2-D convolution with the outer product kernel, reflect-101 border. */
function naiveBlur(map: Float32Array, W: number, H: number, sigma: number): Float64Array {
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) s += k[dy + r]! * k[dx + r]! * map[reflect101(y + dy, H) * W + reflect101(x + dx, W)]!;
      out[y * W + x] = s;
    }
  return out;
}

describe("gridToRoi", () => {
  const grid = new SeededRandom(3).fillNormal(new Float32Array(32 * 32), 1);

  it.each([[448], [300], [37], [1000]])("for a square ROI of %i px equals a plain bilinear resize of the grid (the old backend's mapping)", (side) => {
    const geometry = letterboxGeometry(side, side, 448, 14);
    expect(maxAbsDiff(gridToRoi(grid, geometry), naiveResize(grid, 32, 32, side, side))).toBeLessThan(1e-5);
  });

  it("for a wide ROI samples only the tokens the ROI was letterboxed into (the old backend's defect, fixed)", () => {
    // 640x320 -> content 448x224 at y = 112: token rows 8..23 hold the ROI, rows 0..7 and 24..31 are padding
    const rows = new Float32Array(32 * 32);
    for (let r = 0; r < 32; r++) rows.fill(r >= 8 && r < 24 ? r : 1000, r * 32, r * 32 + 32);
    const geometry = letterboxGeometry(640, 320, 448, 14);
    const map = gridToRoi(rows, geometry);
    expect(maxOf(map)).toBeLessThanOrEqual(23);
    expect(minOf(map)).toBeGreaterThanOrEqual(8);
    // equals a bilinear resize of just the content rows (16 x 32 tokens) onto 640 x 320
    const content = rows.slice(8 * 32, 24 * 32);
    expect(maxAbsDiff(map, naiveResize(content, 16, 32, 640, 320))).toBeLessThan(1e-4);
  });

  it("puts a hot token where that token's patch came from in a tall ROI", () => {
    const geometry = letterboxGeometry(200, 600, 448, 14); // content 149x448 at x = 149
    const hot = new Float32Array(32 * 32);
    hot[20 * 32 + 16] = 1; // token row 20, col 16 -> input (231, 287) -> ROI x (231-149)/0.7467 = 110, y 287/0.7467 = 384
    const map = gridToRoi(hot, geometry);
    const peak = argmax(map);
    expect(Math.abs((peak % 200) - 110)).toBeLessThanOrEqual(2);
    expect(Math.abs(Math.floor(peak / 200) - 384)).toBeLessThanOrEqual(2);
  });
});

describe("gaussianBlur (the old backend's cv2.GaussianBlur(ksize=(k,k), sigma), reflect-101)", () => {
  it("uses the old backend's kernel size max(3, 2 round(3 sigma) + 1): 7 taps for sigma 1, 13 for sigma 2 (not OpenCV's default 9 and 17)", () => {
    expect(gaussianKernelSize(1)).toBe(7);
    expect(gaussianKernel(1).length).toBe(7);
    expect(gaussianKernel(2).length).toBe(13);
    expect(gaussianKernelSize(0.1)).toBe(3); // round(0.3) = 0 -> 1, raised to 3
    expect(gaussianKernel(1).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(gaussianKernel(1, 9).length).toBe(9); // an explicit size is still possible
    expect(() => gaussianKernel(1, 8)).toThrow(RangeError);
  });

  it("rounds 3 sigma as Python does, ties to even (Math.round would send 2.5 to 3 and 4.5 to 5)", () => {
    expect(gaussianKernelSize(2.5 / 3)).toBe(5); // 3 sigma = 2.5 exactly -> 2 -> 5 taps (Math.round: 7)
    expect(gaussianKernelSize(1.5)).toBe(9); // 4.5 -> 4 -> 9 taps (Math.round: 11)
    expect(gaussianKernelSize(0.5)).toBe(5); // 1.5 -> 2 -> 5 taps
    expect(gaussianKernelSize(3.5 / 3)).toBe(9); // 3.5 -> 4 -> 9 taps
  });

  it.each([
    [1, 37, 23],
    [2.5, 64, 48],
    [1, 3, 5],
    [1, 1, 7],
  ])("equals a naive 2-D convolution for sigma %p on %ix%i", (sigma, W, H) => {
    const map = new SeededRandom(W * H).fillNormal(new Float32Array(W * H), 1);
    expect(maxAbsDiff(gaussianBlur(map, W, H, sigma), naiveBlur(map, W, H, sigma))).toBeLessThan(1e-5);
  });

  it.each([
    [1, 448, 448],
    [1, 37, 23],
    [2.5, 64, 48],
    [1, 5, 300],
    [1, 3, 5], // too small for a reflect pad of radius 3: the JavaScript path
  ])("the onnxruntime blur equals the JavaScript one for sigma %p on %ix%i", async (sigma, W, H) => {
    const map = new SeededRandom(W + H).fillNormal(new Float32Array(W * H), 1);
    expect(maxAbsDiff(await gaussianBlurFast(map, W, H, sigma, 2), gaussianBlur(map, W, H, sigma))).toBeLessThan(1e-5);
  });

  it("keeps a constant map constant and returns a copy for sigma 0", () => {
    const flat = new Float32Array(50 * 20).fill(3.25);
    expect(maxAbsDiff(gaussianBlur(flat, 50, 20, 1), flat)).toBeLessThan(1e-6);
    const copy = gaussianBlur(flat, 50, 20, 0);
    expect(copy).not.toBe(flat);
    expect(copy).toEqual(flat);
  });
});
