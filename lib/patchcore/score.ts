import { percentilesFloat32 } from "./percentile";

const { round } = Math;

/** Values of `map` where `mask` is 1, Float32Array [mask count]. */
export function maskedValues(map: Float32Array, mask: Uint8Array): Float32Array {
  let count = 0;
  for (let i = 0; i < mask.length; i++) count += mask[i]!;
  const out = new Float32Array(count);
  for (let i = 0, j = 0; i < mask.length; i++) if (mask[i]) out[j++] = map[i]!;
  return out;
}

export interface ScoreAndHeatmap {
  /** percentile `scorePercentile` of the masked map (numpy linear). */
  readonly score: number;
  /** Uint8Array [height, width]: masked map scaled from its 1st..99th percentile to 0..255; 0 outside the mask. */
  readonly heatmap: Uint8Array;
  readonly p1: number;
  readonly p99: number;
}

/** The old backend's image score and grey heatmap from an anomaly map and its ROI mask. */
export function scoreAndHeatmap(map: Float32Array, mask: Uint8Array, scorePercentile: number): ScoreAndHeatmap {
  const [score, p1, p99] = percentilesFloat32(maskedValues(map, mask), [scorePercentile, 1, 99]) as [number, number, number];
  const heatmap = new Uint8Array(map.length);
  const span = p99 - p1;
  if (span > 0) {
    const scale = 255 / span;
    for (let i = 0; i < map.length; i++) {
      if (!mask[i]) continue;
      const v = (map[i]! - p1) * scale;
      heatmap[i] = v <= 0 ? 0 : v >= 255 ? 255 : round(v);
    }
  }
  return { score, heatmap, p1, p99 };
}
