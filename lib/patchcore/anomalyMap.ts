import { contentTokens, roiToInput, type LetterboxGeometry } from "../image/letterbox";
import { separableBlur } from "../onnx/kernels";
import { roundHalfEven } from "../util/pythonRound";

const { exp, floor, max, min } = Math;

/**
 * Token-grid values -> one value per ROI pixel, bilinear, through the letterbox geometry: ROI
 * pixel centre (x + 0.5, y + 0.5) -> input pixel -> token coordinate (token centres at
 * (i + 0.5) * patch), clamped to the tokens that overlap the ROI's content, so padding tokens
 * never bleed into the map. For a square ROI this is exactly OpenCV's INTER_LINEAR resize of the
 * grid to the ROI (what the old backend did for every ROI, which shifted and stretched the
 * heatmaps of non-square ones); for a letterboxed ROI it is that resize of its content tokens.
 * @param grid Float32Array [gridH, gridW] over the whole model input
 * @returns Float32Array [roiHeight, roiWidth]
 */
export function gridToRoi(grid: Float32Array, geometry: LetterboxGeometry): Float32Array {
  const { roiWidth: W, roiHeight: H, patchSize } = geometry;
  const { w: gw } = geometry.grid;
  const { firstRow, lastRow, firstCol, lastCol } = contentTokens(geometry); // only these are read
  const x0 = new Int32Array(W);
  const x1 = new Int32Array(W);
  const wx = new Float32Array(W);
  for (let x = 0; x < W; x++) {
    const t = roiToInput(geometry, x + 0.5, 0).x / patchSize - 0.5;
    const c = min(max(t, firstCol), lastCol);
    x0[x] = floor(c);
    x1[x] = min(x0[x]! + 1, lastCol);
    wx[x] = c - x0[x]!;
  }
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const t = roiToInput(geometry, 0, y + 0.5).y / patchSize - 0.5;
    const c = min(max(t, firstRow), lastRow);
    const r0 = floor(c);
    const r1 = min(r0 + 1, lastRow);
    const wy = c - r0;
    const row0 = r0 * gw;
    const row1 = r1 * gw;
    const base = y * W;
    for (let x = 0; x < W; x++) {
      const top = grid[row0 + x0[x]!]! + (grid[row0 + x1[x]!]! - grid[row0 + x0[x]!]!) * wx[x]!;
      const bottom = grid[row1 + x0[x]!]! + (grid[row1 + x1[x]!]! - grid[row1 + x0[x]!]!) * wx[x]!;
      out[base + x] = top + (bottom - top) * wy;
    }
  }
  return out;
}

/**
 * Taps of the blur kernel, as the old backend chose them: it called
 * cv2.GaussianBlur(map, (k, k), sigma) with k = max(3, 2 * round(3 sigma) + 1) (Python's round,
 * ties to even: sigma 0.5 -> 3 sigma = 1.5 -> 2 -> 5 taps; sigma 2.5/3 -> 2.5 -> 2 -> 5 taps),
 * i.e. 7 taps at sigma 1, 13 at sigma 2. (cv2.GaussianBlur with ksize (0, 0) would derive
 * round(8 sigma + 1) | 1 = 9 taps at sigma 1 instead: the old backend did not use that.)
 */
export function gaussianKernelSize(sigma: number): number {
  return max(3, 2 * roundHalfEven(sigma * 3) + 1);
}

/**
 * cv2.getGaussianKernel(size, sigma) for float images: exp(-(i - (size-1)/2)^2 / (2 sigma^2)),
 * normalised to sum 1; size defaults to the old backend's gaussianKernelSize(sigma).
 */
export function gaussianKernel(sigma: number, size: number = gaussianKernelSize(sigma)): Float32Array {
  if (!(size >= 1) || size % 2 !== 1) throw new RangeError(`Gaussian kernel size must be odd and >= 1, got ${size}`);
  const radius = (size - 1) / 2;
  const kernel = new Float32Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    kernel[i] = exp(-((i - radius) ** 2) / (2 * sigma * sigma));
    sum += kernel[i]!;
  }
  for (let i = 0; i < size; i++) kernel[i]! /= sum;
  return kernel;
}

/** Index into [0, n) mirrored without repeating the edge (OpenCV BORDER_REFLECT_101: dcb|abcd|cba). */
export function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/**
 * Separable Gaussian blur as the old backend's cv2.GaussianBlur(map, (k, k), sigma) on float32,
 * k = gaussianKernelSize(sigma) (7 taps at sigma 1), border reflect-101. sigma <= 0 returns a copy.
 * Hot path (every /infer, every ROI pixel): interior pixels skip the border index tables.
 * @param map Float32Array [height, width]
 */
export function gaussianBlur(map: Float32Array, width: number, height: number, sigma: number): Float32Array {
  if (!(sigma > 0)) return Float32Array.from(map);
  const kernel = gaussianKernel(sigma);
  const taps = kernel.length;
  const radius = (taps - 1) / 2;
  const xIndex = borderIndex(width, radius);
  const yIndex = borderIndex(height, radius);
  const horizontal = new Float32Array(width * height);
  const interiorEnd = width - radius;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      if (x >= radius && x < interiorEnd) {
        const start = row + x - radius;
        for (let k = 0; k < taps; k++) s += kernel[k]! * map[start + k]!;
      } else {
        for (let k = 0; k < taps; k++) s += kernel[k]! * map[row + xIndex[x + k]!]!;
      }
      horizontal[row + x] = s;
    }
  }
  const out = new Float32Array(width * height);
  const sourceRows = new Int32Array(taps);
  for (let y = 0; y < height; y++) {
    for (let k = 0; k < taps; k++) sourceRows[k] = yIndex[y + k]! * width;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = 0; k < taps; k++) s += kernel[k]! * horizontal[sourceRows[k]! + x]!;
      out[row + x] = s;
    }
  }
  return out;
}

/** Source index for padded positions -radius..n+radius-1, stored at offset +radius. */
function borderIndex(n: number, radius: number): Int32Array {
  const index = new Int32Array(n + 2 * radius);
  for (let i = 0; i < index.length; i++) index[i] = reflect101(i - radius, n);
  return index;
}

/**
 * gaussianBlur() on onnxruntime (Pad reflect + two Convs, kernel of gaussianKernel(sigma)): the
 * same result, ~10x faster than the scalar loop on a 448 x 448 map. Maps too small for a reflect
 * pad of the kernel's radius (3 at sigma 1) use the JavaScript version.
 */
export async function gaussianBlurFast(map: Float32Array, width: number, height: number, sigma: number, threads: number): Promise<Float32Array> {
  if (!(sigma > 0)) return Float32Array.from(map);
  const kernel = gaussianKernel(sigma);
  const radius = (kernel.length - 1) / 2;
  if (width <= radius || height <= radius) return gaussianBlur(map, width, height, sigma);
  return separableBlur(map, width, height, kernel, threads);
}
