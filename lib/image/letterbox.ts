import { roundHalfEven } from "../util/pythonRound";
import type { RgbImage } from "./decode";
import { resizeBicubicPil } from "./resize";

/**
 * Where the ROI sits inside the square model input, so token-grid values can be mapped back to
 * ROI pixels exactly (the old backend mapped the grid onto the whole ROI, which shifted and
 * stretched heatmaps of non-square ROIs; this geometry is the fix).
 */
export interface LetterboxGeometry {
  readonly roiWidth: number;
  readonly roiHeight: number;
  /** Side of the square model input, pixels. */
  readonly inputSize: number;
  readonly patchSize: number;
  /** Input pixels per ROI pixel along each axis (content size / ROI size after rounding). */
  readonly scaleX: number;
  readonly scaleY: number;
  /** The resized ROI inside the input, in input pixels (integers). */
  readonly content: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  /** Token grid of the whole input (h = w = inputSize / patchSize). */
  readonly grid: { readonly h: number; readonly w: number };
}

/**
 * Letterbox geometry as the old backend (DinoV2Features._preprocess): keep aspect ratio,
 * scale = min(S / w, S / h), content size round(w * scale) x round(h * scale) with Python's
 * round (ties to even: a 112 x 37 ROI into 56 gives 56 x 18, where Math.round would give 19),
 * black padding to a square with the content at ((S - w) // 2, (S - h) // 2) (the extra pixel of
 * odd padding right/bottom). Unlike the old backend, a side that would round to 0 is kept at 1.
 */
export function letterboxGeometry(roiWidth: number, roiHeight: number, inputSize: number, patchSize: number): LetterboxGeometry {
  const scale = inputSize / Math.max(roiWidth, roiHeight); // = min(S / w, S / h), the same double
  const width = Math.max(1, Math.min(inputSize, roundHalfEven(roiWidth * scale)));
  const height = Math.max(1, Math.min(inputSize, roundHalfEven(roiHeight * scale)));
  const grid = Math.floor(inputSize / patchSize);
  return {
    roiWidth,
    roiHeight,
    inputSize,
    patchSize,
    scaleX: width / roiWidth,
    scaleY: height / roiHeight,
    content: { x: Math.floor((inputSize - width) / 2), y: Math.floor((inputSize - height) / 2), width, height },
    grid: { h: grid, w: grid },
  };
}

/**
 * Resizes the ROI into the letterbox exactly as the old backend did (Pillow's
 * Image.resize(size, BICUBIC): Catmull-Rom, antialiased when shrinking, horizontal pass first,
 * 8-bit rounding between the passes; see resize.ts for why not sharp) and writes it normalised
 * as planar CHW float32:
 * out[offset + c*S*S + y*S + x] = (pixel/255 - mean[c]) / std[c]; padding is black before normalising.
 */
export async function letterboxInto(
  image: RgbImage,
  geometry: LetterboxGeometry,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
  out: Float32Array,
  offset = 0,
): Promise<void> {
  const { inputSize: S, content } = geometry;
  const resized =
    content.width === image.width && content.height === image.height
      ? image.data
      : resizeBicubicPil(image.data, image.width, image.height, 3, content.width, content.height);
  const plane = S * S;
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * std[c]!);
    const shift = -mean[c]! / std[c]!;
    const base = offset + c * plane;
    out.fill(shift, base, base + plane); // black padding
    for (let y = 0; y < content.height; y++) {
      const row = base + (content.y + y) * S + content.x;
      const src = y * content.width * 3 + c;
      for (let x = 0; x < content.width; x++) out[row + x] = resized[src + 3 * x]! * scale + shift;
    }
  }
}

/** Continuous input-pixel coordinate of a ROI coordinate (pixel centres at +0.5 on both sides). */
export function roiToInput(geometry: LetterboxGeometry, roiX: number, roiY: number): { x: number; y: number } {
  return {
    x: geometry.content.x + roiX * geometry.scaleX,
    y: geometry.content.y + roiY * geometry.scaleY,
  };
}

/** The token (row, column) whose patch contains the centre of ROI pixel (x, y). */
export function tokenOfRoiPixel(geometry: LetterboxGeometry, x: number, y: number): { row: number; col: number } {
  const input = roiToInput(geometry, x + 0.5, y + 0.5);
  return { row: Math.floor(input.y / geometry.patchSize), col: Math.floor(input.x / geometry.patchSize) };
}

/** The tokens whose patches overlap the resized ROI: rows firstRow..lastRow, columns firstCol..lastCol (inclusive). */
export interface ContentTokens {
  readonly firstRow: number;
  readonly lastRow: number;
  readonly firstCol: number;
  readonly lastCol: number;
}

export function contentTokens(geometry: LetterboxGeometry): ContentTokens {
  const { content, patchSize, grid } = geometry;
  return {
    firstRow: Math.floor(content.y / patchSize),
    lastRow: Math.min(grid.h - 1, Math.ceil((content.y + content.height) / patchSize) - 1),
    firstCol: Math.floor(content.x / patchSize),
    lastCol: Math.min(grid.w - 1, Math.ceil((content.x + content.width) / patchSize) - 1),
  };
}
