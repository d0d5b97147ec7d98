import { AREA_RULES, type AreaRule } from "../config/variables";

const { abs, ceil, max, min } = Math;

/**
 * How a region's area is measured, for area_px / area_mm2 and for dropping small islands:
 * - "pixels" (the default): the number of pixels in the region, its true area. A 3 x 3 block is 9 px.
 * - "contour": the old backend's measure, cv2.contourArea of the region's outer contour as
 *   cv2.findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) traces it: the area of the polygon
 *   through the centres of the outer boundary pixels (a float; holes not subtracted). A 3 x 3
 *   block is 4 px^2, a 1-pixel-wide line 0. About 7-14 % less than "pixels" for typical defects,
 *   so an area_mm2_thr tuned on the old backend keeps or drops the same islands only under this
 *   rule. As the old backend (RETR_EXTERNAL), a region lying inside a hole of another is then not
 *   reported either.
 */
export type { AreaRule };
export const DEFAULT_AREA_RULE: AreaRule = "pixels";

export interface RegionOptions {
  /** Default "pixels". */
  readonly areaRule?: AreaRule;
}

/** One defect region, in ROI pixels, as the /infer response carries it. */
export interface Region {
  /** [x, y, w, h]: top-left pixel and size in pixels. */
  readonly bbox: [number, number, number, number];
  readonly area_px: number;
  readonly area_mm2: number;
  /** Outer boundary as a closed polygon of pixel-corner points [x, y], clockwise (y down). */
  readonly contour: [number, number][];
}

/**
 * Defect regions of an anomaly map (the old backend's post-processing):
 * - a pixel is defective when it is inside the mask and its value >= threshold;
 * - regions are 8-connected components (pixels touching by an edge or a corner belong together);
 * - area_px is measured by `options.areaRule` (AreaRule: pixel count by default, or the old
 *   backend's contour area); area_mm2 = area_px * mm_per_px^2;
 * - regions with area_px < area_mm2_thr / mm_per_px^2 are dropped (by the same measure);
 * - each region's outer contour follows the pixel edges around it and lists the corners where the
 *   boundary turns (a w x h rectangle is its 4 corners); holes are not reported;
 * - largest first (ties: top-most, then left-most).
 * @param map Float32Array [height, width]
 * @param mask Uint8Array [height, width]
 */
export function findRegions(
  map: Float32Array,
  mask: Uint8Array,
  width: number,
  height: number,
  threshold: number,
  mmPerPx: number,
  areaMm2Threshold: number,
  options: RegionOptions = {},
): Region[] {
  const rule = options.areaRule ?? DEFAULT_AREA_RULE;
  if (!(AREA_RULES as readonly string[]).includes(rule)) throw new RangeError(`unknown area rule ${JSON.stringify(rule)}`);
  const mm2PerPx = mmPerPx * mmPerPx;
  // pixels: integer areas, so ">= thr / mm2" is ">= its ceiling"; contour: the old backend's float comparison
  const minArea = rule === "pixels" ? minimumRegionPixels(areaMm2Threshold, mmPerPx) : areaMm2Threshold / mm2PerPx;
  const labels = new Int32Array(width * height); // 0 = background, -1 = defective not yet labelled, k > 0 = region k
  let defective = 0;
  for (let i = 0; i < labels.length; i++) {
    if (mask[i] && map[i]! >= threshold) {
      labels[i] = -1;
      defective++;
    }
  }
  // contour rule: background 4-connected to the image's surroundings, to tell outer regions from those in holes
  const outside = rule === "contour" && defective > 0 ? outsideBackground(labels, width, height) : null;
  const stack = new Int32Array(width * height);
  const regions: (Region & { order: number })[] = [];
  let next = 0;
  for (let start = 0; start < labels.length; start++) {
    if (labels[start] !== -1) continue;
    next += 1;
    let top = 0;
    stack[top++] = start;
    labels[start] = next;
    let area = 0;
    let minX = width;
    let minY = height;
    let maxX = -1;
    let maxY = -1;
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % width;
      const y = (p - x) / width;
      area += 1;
      minX = min(minX, x);
      maxX = max(maxX, x);
      minY = min(minY, y);
      maxY = max(maxY, y);
      for (let ny = max(0, y - 1); ny <= min(height - 1, y + 1); ny++) {
        for (let nx = max(0, x - 1); nx <= min(width - 1, x + 1); nx++) {
          const q = ny * width + nx;
          if (labels[q] === -1) {
            labels[q] = next;
            stack[top++] = q;
          }
        }
      }
    }
    // `start` is the region's first pixel in raster order: its top edge is on the outer boundary
    const x0 = start % width;
    const y0 = (start - x0) / width;
    if (outside) {
      // the pixel west of the first one is background outside this region: inside another's hole unless it is outside everything
      if (x0 > 0 && !outside[start - 1]) continue;
      area = outerContourArea(labels, width, height, next, x0, y0);
    }
    if (area < minArea) continue;
    regions.push({
      bbox: [minX, minY, maxX - minX + 1, maxY - minY + 1],
      area_px: area,
      area_mm2: area * mm2PerPx,
      contour: traceOuterContour(labels, width, height, next, x0, y0),
      order: start,
    });
  }
  regions.sort((a, b) => b.area_px - a.area_px || a.order - b.order);
  return regions.map(({ order: _order, ...region }) => region);
}

// Directions clockwise with y down: east, south, west, north.
const DX: readonly number[] = [1, 0, -1, 0];
const DY: readonly number[] = [0, 1, 0, -1];

/**
 * Follows the outer boundary of region `label` along pixel edges, starting at the top-left
 * corner of its first raster pixel (x0, y0) heading east, with the region on the right-hand side.
 * At each corner the two pixels ahead decide: ahead-left in the region -> turn left (8-connectivity
 * joins diagonal pixels); else ahead-right in the region -> straight on; else -> turn right.
 */
export function traceOuterContour(labels: Int32Array, width: number, height: number, label: number, x0: number, y0: number): [number, number][] {
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && labels[y * width + x] === label;
  const corners: [number, number][] = [[x0, y0]];
  let x = x0 + 1;
  let y = y0;
  let dir = 0; // the direction of the last step
  const limit = 4 * (width + 1) * (height + 1); // a boundary never has more steps than the corner grid has edges
  for (let step = 0; step < limit; step++) {
    // pixels around corner (x, y): NW (x-1, y-1), NE (x, y-1), SW (x-1, y), SE (x, y)
    const [leftX, leftY, rightX, rightY] =
      dir === 0 ? [x, y - 1, x, y] : dir === 1 ? [x, y, x - 1, y] : dir === 2 ? [x - 1, y, x - 1, y - 1] : [x - 1, y - 1, x, y - 1];
    let turned = dir;
    if (inside(leftX, leftY)) turned = (dir + 3) % 4;
    else if (!inside(rightX, rightY)) turned = (dir + 1) % 4;
    // each directed boundary edge is walked once: leaving the start corner eastwards again closes the loop
    if (x === x0 && y === y0 && turned === 0) return corners;
    if (turned !== dir) corners.push([x, y]);
    dir = turned;
    x += DX[dir]!;
    y += DY[dir]!;
  }
  throw new Error(`contour of region ${label} did not close after ${limit} steps`);
}

// OpenCV's chain-code directions (y down): 0 E, 1 NE, 2 N, 3 NW, 4 W, 5 SW, 6 S, 7 SE.
const CX: readonly number[] = [1, 1, 0, -1, -1, -1, 0, 1];
const CY: readonly number[] = [0, -1, -1, -1, 0, 1, 1, 1];

/**
 * cv2.contourArea of the outer contour cv2.findContours traces for region `label` (8-connected),
 * starting at its first raster pixel (x0, y0): Suzuki-Abe border following as OpenCV's
 * icvFetchContour does it (first neighbour clockwise from the west, then each next boundary
 * pixel counter-clockwise from the previous one, until the walk leaves the start pixel towards
 * the first neighbour again), and the shoelace area of the polygon through those pixel centres.
 * Collinear points (which CHAIN_APPROX_SIMPLE drops) do not change the area. An isolated pixel is 0.
 */
export function outerContourArea(labels: Int32Array, width: number, height: number, label: number, x0: number, y0: number): number {
  const inside = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && labels[y * width + x] === label;
  let s = 4;
  do s = (s + 7) & 7;
  while (s !== 4 && !inside(x0 + CX[s]!, y0 + CY[s]!));
  if (s === 4) return 0; // no neighbour: a single pixel
  const x1 = x0 + CX[s]!;
  const y1 = y0 + CY[s]!;
  let x3 = x0;
  let y3 = y0;
  let twice = 0;
  const limit = 8 * width * height + 8; // each pixel is left at most once per direction
  for (let step = 0; step < limit; step++) {
    // s points back at the previous boundary pixel: search counter-clockwise after it (it is found last at worst)
    for (let k = 1; k <= 8; k++) {
      const d = (s + k) & 7;
      if (inside(x3 + CX[d]!, y3 + CY[d]!)) {
        s = d;
        break;
      }
    }
    const x4 = x3 + CX[s]!;
    const y4 = y3 + CY[s]!;
    twice += x3 * y4 - x4 * y3;
    if (x4 === x0 && y4 === y0 && x3 === x1 && y3 === y1) return abs(twice) / 2;
    x3 = x4;
    y3 = y4;
    s = (s + 4) & 7;
  }
  throw new Error(`contour of region ${label} did not close after ${limit} steps`);
}

/**
 * Uint8Array [height, width]: 1 for background pixels (label 0) 4-connected to the outside of
 * the image (OpenCV pads the image with a frame of zeros), 0 elsewhere (regions and their holes).
 */
function outsideBackground(labels: Int32Array, width: number, height: number): Uint8Array {
  const outside = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  let top = 0;
  const seed = (i: number) => {
    if (labels[i] === 0 && !outside[i]) {
      outside[i] = 1;
      stack[top++] = i;
    }
  };
  for (let x = 0; x < width; x++) {
    seed(x);
    seed((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    seed(y * width);
    seed(y * width + width - 1);
  }
  while (top > 0) {
    const p = stack[--top]!;
    const x = p % width;
    if (x > 0) seed(p - 1);
    if (x < width - 1) seed(p + 1);
    if (p >= width) seed(p - width);
    if (p < (height - 1) * width) seed(p + width);
  }
  return outside;
}

/** Pixels a region needs to be kept: area_px >= area_mm2_thr / mm_per_px^2, i.e. at least its ceiling. */
export function minimumRegionPixels(areaMm2Threshold: number, mmPerPx: number): number {
  return ceil(areaMm2Threshold / (mmPerPx * mmPerPx));
}
