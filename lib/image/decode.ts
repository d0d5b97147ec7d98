import sharp from "sharp";
import { InvalidInputError, TooLargeError } from "../errors";

/** A decoded image: 8-bit RGB, interleaved, Uint8Array [height, width, 3]. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

const ACCEPTED_FORMATS = new Set(["png", "jpeg"]);

export interface ImageHeader {
  readonly width: number;
  readonly height: number;
  readonly format: string;
}

/**
 * Format and size from the header alone (no pixel decoded): 400 for what is not a PNG/JPEG,
 * 413 for an image over `maxPixels`.
 */
export async function readImageHeader(bytes: Uint8Array, maxPixels: number, name = "image"): Promise<ImageHeader> {
  if (bytes.length === 0) throw new InvalidInputError(`${name}: the file is empty`);
  let format: string | undefined;
  let width: number;
  let height: number;
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    format = meta.format;
    width = meta.width ?? 0;
    height = meta.height ?? 0;
  } catch (cause) {
    throw new InvalidInputError(`${name}: not a decodable image (send PNG or JPEG)`, { cause });
  }
  if (format === undefined || !ACCEPTED_FORMATS.has(format)) {
    throw new InvalidInputError(`${name}: unsupported image format ${format ?? "unknown"} (send PNG or JPEG)`);
  }
  if (width <= 0 || height <= 0) throw new InvalidInputError(`${name}: the image has no pixels`);
  if (width * height > maxPixels) {
    throw new TooLargeError(`${name}: ${width}x${height} = ${width * height} pixels is over the limit of ${maxPixels} pixels`);
  }
  return { width, height, format };
}

/**
 * Decodes PNG or JPEG bytes (8/16-bit, grey, RGB, RGBA) to 8-bit RGB. Alpha is dropped; EXIF
 * orientation is ignored because ROIs arrive canonical. Rejects with 400 what cannot be decoded
 * and with 413 images over `maxPixels` (checked from the header, before pixels are decoded).
 */
export async function decodeImage(bytes: Uint8Array, maxPixels: number, name = "image"): Promise<RgbImage> {
  await readImageHeader(bytes, maxPixels, name);
  return decodePixels(bytes, maxPixels, name);
}

/** decodeImage's pixels, once its header was read and checked. */
async function decodePixels(bytes: Uint8Array, maxPixels: number, name: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: "error", autoOrient: false })
      .removeAlpha()
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (cause) {
    throw new InvalidInputError(`${name}: the image data is corrupt or truncated (${(cause as Error).message})`, { cause });
  }
}

/**
 * The header of an image that decodes whole (as a fit or an inspection will decode it): what a
 * dataset accepts, so that no stored image can fail every later fit.
 */
export async function checkImage(bytes: Uint8Array, maxPixels: number, name = "image"): Promise<ImageHeader> {
  const header = await readImageHeader(bytes, maxPixels, name);
  await decodePixels(bytes, maxPixels, name);
  return header;
}
