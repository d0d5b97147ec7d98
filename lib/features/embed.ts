import type { RgbImage } from "../image/decode";
import { letterboxGeometry, letterboxInto, type LetterboxGeometry } from "../image/letterbox";
import type { Timings } from "../util/timings";
import type { FeatureExtractor, PatchGrid } from "./extractor";

export interface EmbeddedImage {
  readonly grid: PatchGrid;
  readonly geometry: LetterboxGeometry;
}

/**
 * Letterboxes decoded images into the model input and extracts their patch grids, `batchSize`
 * images per ONNX run. Stage times go to `timings` as "letterbox" and "forward".
 */
export async function embedImages(
  extractor: FeatureExtractor,
  images: readonly RgbImage[],
  options: { batchSize?: number; timings?: Timings } = {},
): Promise<EmbeddedImage[]> {
  const S = extractor.inputSize;
  const { mean, std, patchSize } = extractor.card.input;
  const batchSize = Math.max(1, options.batchSize ?? 1);
  const results: EmbeddedImage[] = [];
  for (let start = 0; start < images.length; start += batchSize) {
    const batch = images.slice(start, start + batchSize);
    const pixels = new Float32Array(batch.length * 3 * S * S); // [batch, 3, S, S]
    const geometries: LetterboxGeometry[] = [];
    const t0 = performance.now();
    for (const [i, image] of batch.entries()) {
      const geometry = letterboxGeometry(image.width, image.height, S, patchSize);
      await letterboxInto(image, geometry, mean, std, pixels, i * 3 * S * S);
      geometries.push(geometry);
    }
    const t1 = performance.now();
    const grids = await extractor.extract(pixels, batch.length);
    options.timings?.add("letterbox", t1 - t0);
    options.timings?.add("forward", performance.now() - t1);
    grids.forEach((grid, i) => results.push({ grid, geometry: geometries[i]! }));
  }
  return results;
}
