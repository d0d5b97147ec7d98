import sharp from "sharp";

/**
 * Heatmaps people can compare: the raw anomaly map coloured on one scale per model, anchored to
 * its threshold, instead of each image's own 1st..99th percentiles (the old backend's grey
 * heatmap, which makes a good part look as hot as a broken one). 0 is the coldest colour, the
 * anchor (the threshold: where "defect" starts) sits in the middle, 2 x anchor and above is the
 * hottest; below the anchor the colours are blues and teals, from it up yellows, oranges, reds.
 */

/** Colour stops of the scale: position in [0, 1] of [0, 2 x anchor], then sRGB. */
export const FIXED_SCALE_STOPS: readonly (readonly [number, number, number, number])[] = [
  [0.0, 8, 24, 64],
  [0.25, 30, 96, 170],
  [0.45, 64, 170, 170],
  [0.5, 250, 220, 60],
  [0.75, 240, 120, 40],
  [1.0, 180, 20, 30],
];

/** Uint8Array [256, 3]: the scale sampled at 256 levels (linear between stops). */
function buildLookup(): Uint8Array {
  const table = new Uint8Array(256 * 3);
  for (let level = 0; level < 256; level++) {
    const t = level / 255;
    let s = 0;
    while (s < FIXED_SCALE_STOPS.length - 2 && t > FIXED_SCALE_STOPS[s + 1]![0]) s++;
    const [t0, r0, g0, b0] = FIXED_SCALE_STOPS[s]!;
    const [t1, r1, g1, b1] = FIXED_SCALE_STOPS[s + 1]!;
    const f = t1 > t0 ? Math.min(1, Math.max(0, (t - t0) / (t1 - t0))) : 0;
    table[level * 3] = Math.round(r0 + f * (r1 - r0));
    table[level * 3 + 1] = Math.round(g0 + f * (g1 - g0));
    table[level * 3 + 2] = Math.round(b0 + f * (b1 - b0));
  }
  return table;
}

const LOOKUP = buildLookup();

/** The scale's colour of anomaly value `value` (as [r, g, b]) for a model anchored at `anchor`. */
export function fixedScaleColour(value: number, anchor: number): [number, number, number] {
  const level = levelOf(value, 255 / (2 * anchor));
  return [LOOKUP[level * 3]!, LOOKUP[level * 3 + 1]!, LOOKUP[level * 3 + 2]!];
}

function levelOf(value: number, scale: number): number {
  const v = value * scale;
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/**
 * The anomaly map `map` (Float32Array [height, width]) coloured on the fixed scale of `anchor`
 * (> 0), as an RGBA PNG: opaque inside `mask` (Uint8Array [height, width], 1 = inside the ROI
 * shape), transparent outside it.
 */
export async function fixedScaleHeatmapPng(map: Float32Array, mask: Uint8Array, width: number, height: number, anchor: number): Promise<Buffer> {
  const rgba = new Uint8Array(width * height * 4);
  const scale = 255 / (2 * anchor);
  for (let i = 0; i < map.length; i++) {
    if (!mask[i]) continue;
    const level = levelOf(map[i]!, scale) * 3;
    const o = i * 4;
    rgba[o] = LOOKUP[level]!;
    rgba[o + 1] = LOOKUP[level + 1]!;
    rgba[o + 2] = LOOKUP[level + 2]!;
    rgba[o + 3] = 255;
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } })
    .png({ compressionLevel: 3, adaptiveFiltering: false })
    .toBuffer();
}
