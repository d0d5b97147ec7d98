import { findRegions, minimumRegionPixels, outerContourArea } from "../../lib/patchcore/regions";

/** Polygon area by the shoelace formula: a hole-free region's contour encloses area_px. */
function polygonArea(points: readonly [number, number][]): number {
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x2, y2] = points[(i + 1) % points.length]!;
    twice += x1 * y2 - x2 * y1;
  }
  return Math.abs(twice) / 2;
}
import { scoreAndHeatmap } from "../../lib/patchcore/score";

/** A map from ASCII art: '#' = 1, '.' = 0. */
function art(rows: string[]): { map: Float32Array; W: number; H: number } {
  const H = rows.length;
  const W = rows[0]!.length;
  const map = new Float32Array(W * H);
  rows.forEach((row, y) => [...row].forEach((ch, x) => (map[y * W + x] = ch === "#" ? 1 : 0)));
  return { map, W, H };
}
const all = (n: number) => new Uint8Array(n).fill(1);

describe("findRegions", () => {
  it("a rectangle: bbox, area and its 4 corners, clockwise", () => {
    const { map, W, H } = art(["......", ".###..", ".###..", "......"]);
    const regions = findRegions(map, all(W * H), W, H, 0.5, 1, 0);
    expect(regions).toEqual([
      {
        bbox: [1, 1, 3, 2],
        area_px: 6,
        area_mm2: 6,
        contour: [
          [1, 1],
          [4, 1],
          [4, 3],
          [1, 3],
        ],
      },
    ]);
  });

  it("a single pixel is a unit square", () => {
    const { map, W, H } = art(["...", ".#.", "..."]);
    expect(findRegions(map, all(9), W, H, 0.5, 1, 0)[0]!.contour).toEqual([
      [1, 1],
      [2, 1],
      [2, 2],
      [1, 2],
    ]);
  });

  it("an L shape has 6 corners", () => {
    const { map, W, H } = art(["#..", "#..", "###"]);
    const [region] = findRegions(map, all(9), W, H, 0.5, 1, 0);
    expect(region!.contour).toEqual([
      [0, 0],
      [1, 0],
      [1, 2],
      [3, 2],
      [3, 3],
      [0, 3],
    ]);
    expect(polygonArea(region!.contour)).toBe(region!.area_px);
  });

  it("joins pixels touching only at a corner (8-connectivity), boundary passing through the shared corner", () => {
    const { map, W, H } = art(["#..", ".#.", "..#"]);
    const regions = findRegions(map, all(9), W, H, 0.5, 1, 0);
    expect(regions).toHaveLength(1);
    expect(regions[0]!.area_px).toBe(3);
    expect(regions[0]!.bbox).toEqual([0, 0, 3, 3]);
    expect(regions[0]!.contour).toEqual([
      [0, 0],
      [1, 0],
      [1, 1],
      [2, 1],
      [2, 2],
      [3, 2],
      [3, 3],
      [2, 3],
      [2, 2],
      [1, 2],
      [1, 1],
      [0, 1],
    ]);
  });

  it("reports the outer contour only for a ring (its hole is not a region)", () => {
    const { map, W, H } = art(["#####", "#...#", "#...#", "#####"]);
    const [region] = findRegions(map, all(20), W, H, 0.5, 1, 0);
    expect(region!.area_px).toBe(14);
    expect(region!.contour).toEqual([
      [0, 0],
      [5, 0],
      [5, 4],
      [0, 4],
    ]);
  });

  it("drops islands smaller than area_mm2_thr / mm_per_px^2 pixels and sorts the rest largest first", () => {
    const { map, W, H } = art(["##....#", "##....#", "......#", "#.....#"]);
    // mm_per_px 0.5 -> 0.25 mm2 per pixel; threshold 1 mm2 -> at least 4 pixels
    expect(minimumRegionPixels(1, 0.5)).toBe(4);
    const regions = findRegions(map, all(W * H), W, H, 0.5, 0.5, 1);
    // equal areas: top-most, then left-most first
    expect(regions.map((r) => [r.area_px, r.area_mm2, r.bbox])).toEqual([
      [4, 1, [0, 0, 2, 2]],
      [4, 1, [6, 0, 1, 4]],
    ]);
  });

  it("counts only pixels inside the mask and >= the threshold", () => {
    const map = Float32Array.from([0.2, 0.5, 0.9, 0.9]);
    expect(findRegions(map, Uint8Array.from([1, 1, 1, 0]), 4, 1, 0.5, 1, 0)).toEqual([
      {
        bbox: [1, 0, 2, 1],
        area_px: 2,
        area_mm2: 2,
        contour: [
          [1, 0],
          [3, 0],
          [3, 1],
          [1, 1],
        ],
      },
    ]);
  });

  it("encloses exactly area_px with its contour for random hole-free blobs", () => {
    // random walks of pixels: unions of squares; holes are possible, so compare only where there are none
    let checked = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const W = 24;
      const H = 18;
      const map = new Float32Array(W * H);
      let x = 12;
      let y = 9;
      let s = seed;
      for (let i = 0; i < 60; i++) {
        s = (s * 1103515245 + 12345) & 0x7fffffff;
        x = Math.min(W - 2, Math.max(1, x + ((s >> 4) % 3) - 1));
        y = Math.min(H - 2, Math.max(1, y + ((s >> 8) % 3) - 1));
        map[y * W + x] = 1;
      }
      for (const region of findRegions(map, all(W * H), W, H, 0.5, 1, 0)) {
        const [bx, by, bw, bh] = region.bbox;
        for (const [cx, cy] of region.contour) {
          expect(cx).toBeGreaterThanOrEqual(bx);
          expect(cx).toBeLessThanOrEqual(bx + bw);
          expect(cy).toBeGreaterThanOrEqual(by);
          expect(cy).toBeLessThanOrEqual(by + bh);
        }
        // every polygon vertex is a turn: consecutive edges are axis-aligned and perpendicular
        const n = region.contour.length;
        for (let i = 0; i < n; i++) {
          const [ax, ay] = region.contour[(i + n - 1) % n]!;
          const [px, py] = region.contour[i]!;
          const [qx, qy] = region.contour[(i + 1) % n]!;
          expect((px - ax) * (qx - px) + (py - ay) * (qy - py) === 0).toBe(true);
        }
        const area = polygonArea(region.contour);
        expect(area).toBeGreaterThanOrEqual(region.area_px); // equal unless the region has holes or corner-touching parts
        if (area === region.area_px) checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});

describe("findRegions areaRule (the old backend's contour area as an option)", () => {
  const block = art([".....", ".###.", ".###.", ".###.", "....."]);

  it("worked example: a 3x3 block is 9 px by pixels (the default) and 4 px^2 by contour (polygon through the boundary pixels' centres)", () => {
    const { map, W, H } = block;
    const [byPixels] = findRegions(map, all(W * H), W, H, 0.5, 0.1, 0);
    expect(byPixels!.area_px).toBe(9);
    expect(byPixels!.area_mm2).toBeCloseTo(0.09, 12);
    expect(findRegions(map, all(W * H), W, H, 0.5, 0.1, 0, { areaRule: "pixels" })).toEqual([byPixels]);
    const [byContour] = findRegions(map, all(W * H), W, H, 0.5, 0.1, 0, { areaRule: "contour" });
    expect(byContour!.area_px).toBe(4);
    expect(byContour!.area_mm2).toBeCloseTo(0.04, 12);
    // only the measure changes: same bbox, same (pixel-corner) contour
    expect(byContour!.bbox).toEqual(byPixels!.bbox);
    expect(byContour!.contour).toEqual(byPixels!.contour);
  });

  it("drops small islands by the selected measure", () => {
    const { map, W, H } = block;
    // threshold 5 px (0.05 mm2 at 0.1 mm/px): 9 px is kept, 4 px^2 is dropped
    expect(findRegions(map, all(W * H), W, H, 0.5, 0.1, 0.05)).toHaveLength(1);
    expect(findRegions(map, all(W * H), W, H, 0.5, 0.1, 0.05, { areaRule: "contour" })).toEqual([]);
    // 4 px^2 exactly is kept (the old backend dropped area < threshold only)
    expect(findRegions(map, all(W * H), W, H, 0.5, 1, 4, { areaRule: "contour" })).toHaveLength(1);
    expect(findRegions(map, all(W * H), W, H, 0.5, 1, 4.001, { areaRule: "contour" })).toEqual([]);
  });

  it("gives lines and single pixels no area by contour, and sorts by that area", () => {
    const { map, W, H } = art(["#.......", "........", ".#####..", "........", "....##..", "....##.."]);
    const regions = findRegions(map, all(W * H), W, H, 0.5, 1, 0, { areaRule: "contour" });
    expect(regions.map((r) => [r.area_px, r.bbox])).toEqual([
      [1, [4, 4, 2, 2]],
      [0, [0, 0, 1, 1]],
      [0, [1, 2, 5, 1]],
    ]);
    expect(findRegions(map, all(W * H), W, H, 0.5, 1, 0).map((r) => r.area_px)).toEqual([5, 4, 1]);
  });

  it("under the contour rule, as cv2.RETR_EXTERNAL, does not report an island inside another region's hole", () => {
    const { map, W, H } = art(["#######", "#.....#", "#..#..#", "#.....#", "#######"]);
    expect(findRegions(map, all(W * H), W, H, 0.5, 1, 0).map((r) => r.area_px)).toEqual([20, 1]);
    expect(findRegions(map, all(W * H), W, H, 0.5, 1, 0, { areaRule: "contour" }).map((r) => r.area_px)).toEqual([24]);
  });

  it("outerContourArea of an L is OpenCV's 0.5 (the walk back cuts the inner corner diagonally)", () => {
    const { map, W, H } = art(["#..", "#..", "###"]);
    const labels = Int32Array.from(map, (v) => (v > 0.5 ? 1 : 0));
    expect(outerContourArea(labels, W, H, 1, 0, 0)).toBe(0.5);
  });

  it("rejects an unknown rule", () => {
    const { map, W, H } = block;
    expect(() => findRegions(map, all(W * H), W, H, 0.5, 1, 0, { areaRule: "polygon" as never })).toThrow(RangeError);
  });
});

describe("scoreAndHeatmap", () => {
  it("scores the masked map's percentile and scales the heatmap between its 1st and 99th percentiles", () => {
    const map = Float32Array.from({ length: 101 }, (_, i) => i); // 0..100
    const mask = new Uint8Array(101).fill(1);
    mask[100] = 0; // masked out: 0..99 remain
    const { score, heatmap, p1, p99 } = scoreAndHeatmap(map, mask, 99);
    expect(score).toBeCloseTo(98.01, 10); // numpy: percentile(arange(100), 99)
    expect(p1).toBeCloseTo(0.99, 10);
    expect(p99).toBeCloseTo(98.01, 10);
    expect(heatmap[0]).toBe(0);
    expect(heatmap[99]).toBe(255);
    expect(heatmap[100]).toBe(0); // outside the mask
    expect(heatmap[50]).toBe(Math.round(((50 - 0.99) / (98.01 - 0.99)) * 255));
  });

  it("gives a black heatmap for a flat map", () => {
    const { heatmap, score } = scoreAndHeatmap(new Float32Array(16).fill(2), new Uint8Array(16).fill(1), 99);
    expect(score).toBe(2);
    expect(heatmap.every((v) => v === 0)).toBe(true);
  });
});
