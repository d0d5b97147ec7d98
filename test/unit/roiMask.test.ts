import { InvalidInputError } from "../../lib/errors";
import { parseShape, roiMask } from "../../lib/patchcore/roiMask";

const count = (mask: Uint8Array) => mask.reduce((a, b) => a + b, 0);
const at = (mask: Uint8Array, W: number, x: number, y: number) => mask[y * W + x];

describe("parseShape", () => {
  it.each<[unknown, object]>([
    [
      { kind: "rect", x: 1, y: 2, w: 3, h: 4 },
      { kind: "rect", x: 1, y: 2, w: 3, h: 4 },
    ],
    [{ kind: "rect" }, { kind: "rect", x: 0, y: 0, w: 40, h: 30 }],
    [{ kind: "circle" }, { kind: "circle", cx: 20, cy: 15, r: 15 }],
    [
      { kind: "circle", cx: 5, cy: 6, r: 7 },
      { kind: "circle", cx: 5, cy: 6, r: 7 },
    ],
    [
      { kind: "annulus", r: 10 },
      { kind: "annulus", cx: 20, cy: 15, r: 10, r_inner: 0 },
    ],
    [
      { kind: "annulus", cx: 1, cy: 2, r: 10, r_inner: 4.5 },
      { kind: "annulus", cx: 1, cy: 2, r: 10, r_inner: 4.5 },
    ],
  ])("%j on a 40x30 ROI -> %j (missing fields default to the whole ROI)", (raw, expected) => {
    expect(parseShape(raw, 40, 30)).toEqual(expected);
  });

  it.each<[unknown, RegExp]>([
    [{ kind: "polygon" }, /shape.kind must be "rect", "circle" or "annulus", got "polygon"/],
    [{}, /shape.kind must be/],
    [[1, 2], /shape must be a JSON object/],
    ["rect", /shape must be a JSON object/],
    [null, /shape must be a JSON object/],
    [{ kind: "rect", w: "10" }, /shape.w must be a finite number, got "10"/],
    [{ kind: "rect", w: 0 }, /needs w > 0 and h > 0/],
    [{ kind: "circle", r: -1 }, /needs r > 0/],
    [{ kind: "circle", cx: Infinity }, /shape.cx must be a finite number/],
    [{ kind: "annulus", r: 5, r_inner: 5 }, /0 <= r_inner < r/],
    [{ kind: "annulus", r: 5, r_inner: -1 }, /0 <= r_inner < r/],
  ])("rejects %j with a 400", (raw, message) => {
    const error = (() => {
      try {
        parseShape(raw, 40, 30);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(message);
  });
});

describe("roiMask", () => {
  it("is the whole ROI without a shape", () => {
    expect(count(roiMask(undefined, 7, 5))).toBe(35);
  });

  it("rect: rows y..y+h-1, columns x..x+w-1, clipped", () => {
    const mask = roiMask({ kind: "rect", x: 2, y: 1, w: 3, h: 2 }, 7, 5);
    expect(count(mask)).toBe(6);
    expect([at(mask, 7, 2, 1), at(mask, 7, 4, 2), at(mask, 7, 5, 2), at(mask, 7, 1, 1), at(mask, 7, 2, 3)]).toEqual([1, 1, 0, 0, 0]);
    expect(count(roiMask({ kind: "rect", x: -3, y: -3, w: 100, h: 100 }, 7, 5))).toBe(35);
  });

  it("circle: (x-cx)^2 + (y-cy)^2 <= r^2 at integer pixel coordinates", () => {
    const mask = roiMask({ kind: "circle", cx: 5, cy: 5, r: 2 }, 11, 11);
    // the 13 lattice points within distance 2 of (5,5)
    expect(count(mask)).toBe(13);
    expect([at(mask, 11, 5, 3), at(mask, 11, 7, 5), at(mask, 11, 6, 6), at(mask, 11, 7, 6)]).toEqual([1, 1, 1, 0]);
  });

  it("annulus: r_inner^2 < d^2 <= r^2", () => {
    const mask = roiMask({ kind: "annulus", cx: 5, cy: 5, r: 2, r_inner: 1 }, 11, 11);
    expect(count(mask)).toBe(13 - 5); // the circle minus the centre and its 4 neighbours at distance 1
    expect(at(mask, 11, 5, 5)).toBe(0);
    expect(at(mask, 11, 5, 4)).toBe(0);
    expect(at(mask, 11, 6, 6)).toBe(1);
  });

  it("rejects a shape that covers no pixel of the ROI", () => {
    expect(() => roiMask({ kind: "rect", x: 50, y: 0, w: 10, h: 10 }, 40, 30)).toThrow(/covers no pixel of the 40x30 ROI/);
    expect(() => roiMask({ kind: "circle", cx: -100, cy: -100, r: 5 }, 40, 30)).toThrow(InvalidInputError);
  });
});
