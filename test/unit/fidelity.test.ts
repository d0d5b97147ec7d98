import { readFileSync } from "node:fs";
import path from "node:path";
import { letterboxGeometry, letterboxInto } from "../../lib/image/letterbox";
import { resizeBicubicPil } from "../../lib/image/resize";
import { gaussianBlur, gaussianBlurFast, gaussianKernel, gaussianKernelSize } from "../../lib/patchcore/anomalyMap";
import { findRegions } from "../../lib/patchcore/regions";
import { maxAbsDiff } from "../helpers/arrays";
import { fixtureArray, loadNpz } from "../helpers/npzFixture";

/**
 * The pieces that must compute what the old backend's libraries computed (issue 11), against
 * fixtures made by those libraries: test/fixtures/fidelity/make_fidelity.py (numpy, OpenCV,
 * Pillow; versions in fidelity.json).
 */
const dir = path.join(__dirname, "../fixtures/fidelity");
interface Fixture {
  versions: Record<string, string>;
  kernel_sizes: { sigma: number; ksize: number }[];
  blur: { map: string; width: number; height: number; sigma: number; ksize: number; key: string }[];
  resize: { name: string; width: number; height: number; out_width: number; out_height: number }[];
  letterbox: { name: string; width: number; height: number; input_size: number; content: { x: number; y: number; width: number; height: number } }[];
  contours: {
    name: string;
    rows: string[];
    components_8: number;
    regions: { bbox: [number, number, number, number]; contour_area: number; points: [number, number][] }[];
  }[];
}
const fixture = JSON.parse(readFileSync(path.join(dir, "fidelity.json"), "utf8")) as Fixture;

describe("blur: cv2.GaussianBlur(map, (k, k), sigma) with the old backend's k", () => {
  const blur = loadNpz(path.join(dir, "blur.npz"));

  it.each(fixture.kernel_sizes.map((c) => [c.sigma, c.ksize]))("sigma %p -> %p taps, as Python's max(3, round(3 sigma) * 2 + 1)", (sigma, ksize) => {
    expect(gaussianKernelSize(sigma)).toBe(ksize);
    expect(gaussianKernel(sigma).length).toBe(ksize);
  });

  it.each([1, 2, 0.5])("the kernel for sigma %p equals cv2.getGaussianKernel(k, sigma, CV_32F)", (sigma) => {
    const expected = fixtureArray<Float32Array>(blur, `kernel_s${String(sigma).replace(".", "p")}`).data;
    expect(maxAbsDiff(gaussianKernel(sigma), expected)).toBeLessThan(1e-7);
  });

  it.each(fixture.blur.map((c) => [c.key, c]))("%s: the JavaScript and onnxruntime blurs equal OpenCV's within 1e-5", async (_key, c) => {
    const map = fixtureArray<Float32Array>(blur, c.map).data;
    const expected = fixtureArray<Float32Array>(blur, c.key).data;
    expect(maxAbsDiff(gaussianBlur(map, c.width, c.height, c.sigma), expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(await gaussianBlurFast(map, c.width, c.height, c.sigma, 1), expected)).toBeLessThan(1e-5);
  });
});

describe("resize: Pillow's Image.resize(size, BICUBIC), bit for bit", () => {
  const images = loadNpz(path.join(dir, "resize.npz"));

  it.each(fixture.resize.map((c) => [c.name, c]))("%s", (_name, c) => {
    const src = fixtureArray<Uint8Array>(images, `src_${c.name}`);
    const expected = fixtureArray<Uint8Array>(images, `out_${c.name}`);
    expect(src.shape).toEqual([c.height, c.width, 3]);
    expect(expected.shape).toEqual([c.out_height, c.out_width, 3]);
    const got = resizeBicubicPil(src.data, c.width, c.height, 3, c.out_width, c.out_height);
    let differing = 0;
    for (let i = 0; i < got.length; i++) if (got[i] !== expected.data[i]) differing++;
    expect(differing).toBe(0);
  });

  it("returns a copy for an unchanged size and rejects bad sizes", () => {
    const data = Uint8Array.from({ length: 4 * 3 * 3 }, (_, i) => i);
    const same = resizeBicubicPil(data, 4, 3, 3, 4, 3);
    expect(same).toEqual(data);
    expect(same).not.toBe(data);
    expect(() => resizeBicubicPil(data, 4, 3, 3, 0, 3)).toThrow(RangeError);
    expect(() => resizeBicubicPil(data, 4, 4, 3, 2, 2)).toThrow(RangeError);
  });

  it.each(fixture.letterbox.map((c) => [c.name, c]))(
    "letterbox %s: geometry and every pixel of the model input as the old backend's _preprocess",
    async (_name, c) => {
      const S = c.input_size;
      const src = fixtureArray<Uint8Array>(images, `lb_src_${c.name}`).data;
      const canvas = fixtureArray<Uint8Array>(images, `lb_canvas_${c.name}`).data; // [S, S, 3]
      const geometry = letterboxGeometry(c.width, c.height, S, 14);
      expect(geometry.content).toEqual(c.content);
      const pixels = new Float32Array(3 * S * S);
      await letterboxInto({ width: c.width, height: c.height, data: src }, geometry, [0, 0, 0], [1, 1, 1], pixels);
      let differing = 0;
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++)
          for (let ch = 0; ch < 3; ch++) if (Math.round(pixels[ch * S * S + y * S + x]! * 255) !== canvas[(y * S + x) * 3 + ch]) differing++;
      expect(differing).toBe(0);
    },
  );
});

describe("region area: the old backend's cv2.contourArea of cv2.findContours(RETR_EXTERNAL) outer contours", () => {
  it.each(fixture.contours.map((c) => [c.name, c]))('%s: same regions, bboxes and areas as OpenCV under areaRule "contour"', (_name, c) => {
    const H = c.rows.length;
    const W = c.rows[0]!.length;
    const map = new Float32Array(W * H);
    c.rows.forEach((row, y) => [...row].forEach((ch, x) => (map[y * W + x] = ch === "#" ? 1 : 0)));
    const mask = new Uint8Array(W * H).fill(1);
    const byPosition = (a: { bbox: number[] }, b: { bbox: number[] }) => a.bbox[1]! - b.bbox[1]! || a.bbox[0]! - b.bbox[0]!;
    const found = findRegions(map, mask, W, H, 0.5, 1, 0, { areaRule: "contour" }).sort(byPosition);
    expect(found.map((r) => ({ bbox: r.bbox, area: r.area_px }))).toEqual(c.regions.map((r) => ({ bbox: r.bbox, area: r.contour_area })));
    // the default rule counts pixels, and (unlike RETR_EXTERNAL) also reports islands inside holes
    const pixels = findRegions(map, mask, W, H, 0.5, 1, 0);
    expect(pixels).toHaveLength(c.components_8);
    expect(pixels.reduce((n, r) => n + r.area_px, 0)).toBe(c.rows.join("").split("#").length - 1);
  });
});
