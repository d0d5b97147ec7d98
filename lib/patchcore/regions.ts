const { ceil, max, min } = Math;

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
 * - area_px counts the region's pixels; area_mm2 = area_px * mm_per_px^2;
 * - regions with area_px < area_mm2_thr / mm_per_px^2 are dropped;
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
): Region[] {
  const mm2PerPx = mmPerPx * mmPerPx;
  const minArea = minimumRegionPixels(areaMm2Threshold, mmPerPx);
  const labels = new Int32Array(width * height); // 0 = background, -1 = defective not yet labelled, k > 0 = region k
  for (let i = 0; i < labels.length; i++) if (mask[i] && map[i]! >= threshold) labels[i] = -1;
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
    if (area < minArea) continue;
    // `start` is the region's first pixel in raster order: its top edge is on the outer boundary
    regions.push({
      bbox: [minX, minY, maxX - minX + 1, maxY - minY + 1],
      area_px: area,
      area_mm2: area * mm2PerPx,
      contour: traceOuterContour(labels, width, height, next, start % width, (start - (start % width)) / width),
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

/** Pixels a region needs to be kept: area_px >= area_mm2_thr / mm_per_px^2, i.e. at least its ceiling. */
export function minimumRegionPixels(areaMm2Threshold: number, mmPerPx: number): number {
  return ceil(areaMm2Threshold / (mmPerPx * mmPerPx));
}
