import { letterboxGeometry, letterboxInto, tokenOfRoiPixel } from "../../lib/image/letterbox";
import { paintSpot, solid } from "../../scripts/synthetic/images";

describe("letterboxGeometry", () => {
  it.each([
    // roi w, h -> content x, y, w, h in a 448 input
    [448, 448, 0, 0, 448, 448],
    [224, 224, 0, 0, 448, 448],
    [600, 300, 0, 112, 448, 224],
    [300, 600, 112, 0, 224, 448],
    [500, 333, 0, 75, 448, 298],
    [1000, 10, 0, 222, 448, 4],
    [10, 1000, 222, 0, 4, 448],
    [896, 301, 0, 149, 448, 150], // 301 * 0.5 = 150.5: Python's round -> 150 (ties to even), as the old backend
    [301, 896, 149, 0, 150, 448],
    [896, 303, 0, 148, 448, 152], // 151.5 -> 152
  ])("ROI %ix%i -> content at (%i, %i) size %ix%i, centred, longer side = input", (w, h, x, y, cw, ch) => {
    const g = letterboxGeometry(w, h, 448, 14);
    expect(g.content).toEqual({ x, y, width: cw, height: ch });
    expect(g.grid).toEqual({ h: 32, w: 32 });
    expect(g.scaleX).toBeCloseTo(cw / w, 12);
    expect(g.scaleY).toBeCloseTo(ch / h, 12);
  });
});

describe("letterboxInto: a bright dot at a known ROI pixel lands in the predicted token", () => {
  const S = 448;
  const cases: [string, number, number, number, number][] = [
    ["square", 300, 300, 150, 40],
    ["wide", 640, 200, 500, 150],
    ["tall", 180, 720, 30, 700],
    ["odd", 517, 389, 3, 386],
  ];
  it.each(cases)("%s ROI %ix%i, dot at (%i, %i)", async (_name, w, h, dotX, dotY) => {
    const image = paintSpot(solid(w, h, [0, 0, 0]), dotX + 0.5, dotY + 0.5, 3, [255, 255, 255]);
    const geometry = letterboxGeometry(w, h, S, 14);
    const pixels = new Float32Array(3 * S * S);
    await letterboxInto(image, geometry, [0, 0, 0], [1, 1, 1], pixels);
    // token sums of the intensity plane: the brightest token is where the dot went
    const sums = new Float64Array(32 * 32);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) sums[Math.floor(y / 14) * 32 + Math.floor(x / 14)]! += pixels[y * S + x]!;
    const brightest = sums.indexOf(Math.max(...sums));
    const expected = tokenOfRoiPixel(geometry, dotX, dotY);
    expect({ row: Math.floor(brightest / 32), col: brightest % 32 }).toEqual(expected);
  });

  it("pads with black, normalised by the card's mean and std", async () => {
    const geometry = letterboxGeometry(200, 100, S, 14);
    const pixels = new Float32Array(3 * S * S);
    const mean = [0.485, 0.456, 0.406] as const;
    const std = [0.229, 0.224, 0.225] as const;
    await letterboxInto(solid(200, 100, [255, 255, 255]), geometry, mean, std, pixels);
    for (let c = 0; c < 3; c++) {
      expect(pixels[c * S * S]).toBeCloseTo(-mean[c]! / std[c]!, 5); // top-left: padding
      expect(pixels[c * S * S + (S / 2) * S + S / 2]).toBeCloseTo((1 - mean[c]!) / std[c]!, 5); // centre: white content
    }
    expect(geometry.content).toEqual({ x: 0, y: 112, width: 448, height: 224 });
  });
});
