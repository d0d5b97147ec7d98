import sharp from "sharp";

/** Uint8Array [height, width] grey values -> 8-bit greyscale PNG bytes. */
export async function encodeGreyPng(grey: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(grey, { raw: { width, height, channels: 1 } })
    .toColourspace("b-w")
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}
