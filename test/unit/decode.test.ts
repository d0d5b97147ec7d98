import zlib from "node:zlib";
import sharp from "sharp";
import { decodeImage } from "../../lib/image/decode";
import { InvalidInputError, TooLargeError } from "../../lib/errors";

const W = 5;
const H = 3;
/** A 5x3 RGB image whose pixel (x, y) is (40x+10, 60y+20, 200): every pixel distinct. */
const rgb = Buffer.alloc(W * H * 3);
for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rgb.set([40 * x + 10, 60 * y + 20, 200], (y * W + x) * 3);
const raw = (channels: 1 | 2 | 3 | 4, data: Buffer) => sharp(data, { raw: { width: W, height: H, channels } });

const grey = Buffer.from(Array.from({ length: W * H }, (_, i) => i * 15));
const rgba = Buffer.alloc(W * H * 4);
for (let i = 0; i < W * H; i++) rgba.set([...rgb.subarray(i * 3, i * 3 + 3), i % 2 ? 0 : 255], i * 4);

describe("decodeImage", () => {
  it.each([
    ["8-bit RGB PNG", () => raw(3, rgb).png().toBuffer()],
    ["16-bit RGB PNG", () => raw(3, rgb).toColourspace("rgb16").png().toBuffer()],
    ["RGBA PNG (alpha dropped, colour kept even where transparent)", () => raw(4, rgba).png().toBuffer()],
  ])("decodes %s exactly", async (_name, make) => {
    const image = await decodeImage(await make(), 1e6);
    expect([image.width, image.height]).toEqual([W, H]);
    expect(Buffer.from(image.data)).toEqual(rgb);
  });

  it("decodes 8-bit and 16-bit grey PNG to equal R=G=B", async () => {
    for (const png of [await raw(1, grey).png().toBuffer(), await raw(1, grey).toColourspace("grey16").png().toBuffer()]) {
      const image = await decodeImage(png, 1e6);
      for (let i = 0; i < W * H; i++) {
        expect(Array.from(image.data.subarray(i * 3, i * 3 + 3))).toEqual([grey[i], grey[i], grey[i]]);
      }
    }
  });

  it("decodes JPEG (lossy: close to the original)", async () => {
    const smooth = Buffer.alloc(64 * 64 * 3, 128);
    const jpeg = await sharp(smooth, { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg({ quality: 95 })
      .toBuffer();
    const image = await decodeImage(jpeg, 1e6);
    expect([image.width, image.height]).toEqual([64, 64]);
    expect(Math.max(...Array.from(image.data, (v) => Math.abs(v - 128)))).toBeLessThanOrEqual(2);
  });

  it("ignores EXIF orientation (ROIs arrive canonical)", async () => {
    const jpeg = await raw(3, rgb).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const image = await decodeImage(jpeg, 1e6);
    expect([image.width, image.height]).toEqual([W, H]);
  });

  it.each([
    ["an empty file", Buffer.alloc(0), /empty/],
    ["random bytes", Buffer.from("this is not an image at all"), /not a decodable image/],
    ["a GIF", Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64"), /unsupported image format gif/],
  ])("rejects %s with a 400", async (_name, bytes, message) => {
    const error = await decodeImage(bytes, 1e6, "images[0]").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/^images\[0\]: /);
    expect((error as Error).message).toMatch(message);
  });

  it("rejects a truncated PNG with a 400", async () => {
    const png = await sharp({ create: { width: 256, height: 256, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma: 40 } } })
      .png()
      .toBuffer();
    const error = await decodeImage(png.subarray(0, png.length >> 1), 1e6).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/corrupt or truncated/);
  });

  it("rejects an image over the pixel limit with a 413 before decoding it", async () => {
    // A small PNG whose header declares 20000 x 20000 pixels: what a decompression bomb looks like to a decoder
    const bomb = Buffer.from(await raw(3, rgb).png().toBuffer());
    const ihdr = 8; // after the PNG signature: length(4) "IHDR"(4) width(4) height(4) ... crc(4)
    bomb.writeUInt32BE(20000, ihdr + 8);
    bomb.writeUInt32BE(20000, ihdr + 12);
    bomb.writeUInt32BE(zlib.crc32(bomb.subarray(ihdr + 4, ihdr + 8 + 13)), ihdr + 8 + 13);
    const error = await decodeImage(bomb, 4096 * 4096).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toContain("20000x20000");
    expect((error as Error).message).toContain("limit of 16777216 pixels");
  });
});
