import { brushedMetal, encodeJpeg, paintSpot } from "../synthetic/images";

/** 448x448 synthetic ROI images as JPEG (q 90), small enough for many in one request. */
export function benchImages(count: number, firstSeed: number): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => encodeJpeg(brushedMetal(448, 448, firstSeed + i), 90)));
}

export function benchDefect(seed: number): Promise<Buffer> {
  return encodeJpeg(paintSpot(brushedMetal(448, 448, seed), 300, 200, 12), 90);
}
