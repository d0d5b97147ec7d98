import sharp from "sharp";
import type { RgbImage } from "../../lib/image/decode";
import { SeededRandom } from "../../lib/random";

/**
 * Synthetic inspection images for tests, the bench and the README examples (the shared dataset
 * is for evaluation only):
 * a brushed-metal-like part whose grain, shading and noise vary with the seed.
 */
export function brushedMetal(width: number, height: number, seed: number): RgbImage {
  const rng = new SeededRandom(seed);
  const phase = rng.next() * Math.PI * 2;
  const data = new Uint8Array(width * height * 3);
  const grain = new Float32Array(height);
  for (let y = 0; y < height; y++) grain[y] = rng.normal() * 6;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = 130 + 18 * Math.sin((2 * Math.PI * y) / 6 + phase) + grain[y]! + 10 * (x / width) + rng.normal() * 4;
      const i = (y * width + x) * 3;
      data[i] = clamp(v);
      data[i + 1] = clamp(v + 2);
      data[i + 2] = clamp(v + 8);
    }
  }
  return { width, height, data };
}

/** A copy of `image` with a filled disc of `rgb` (a rust or dirt spot). */
export function paintSpot(image: RgbImage, cx: number, cy: number, radius: number, rgb: [number, number, number] = [95, 55, 30]): RgbImage {
  const data = Uint8Array.from(image.data);
  for (let y = Math.max(0, Math.floor(cy - radius)); y <= Math.min(image.height - 1, Math.ceil(cy + radius)); y++) {
    for (let x = Math.max(0, Math.floor(cx - radius)); x <= Math.min(image.width - 1, Math.ceil(cx + radius)); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) data.set(rgb, (y * image.width + x) * 3);
    }
  }
  return { ...image, data };
}

/** A copy of `image` with one pixel (and only it) set to `rgb`. */
export function paintPixel(image: RgbImage, x: number, y: number, rgb: [number, number, number]): RgbImage {
  const data = Uint8Array.from(image.data);
  data.set(rgb, (y * image.width + x) * 3);
  return { ...image, data };
}

export function solid(width: number, height: number, rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

export function encodePng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}

export function encodeJpeg(image: RgbImage, quality = 95): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}
