import { InvalidInputError } from "../errors";

const { max, min, round } = Math;

/**
 * Shapes in canonical ROI pixel coordinates, as the GUI sends them in the `shape` field.
 * Missing fields default to the whole ROI: rect x=0, y=0, w=width, h=height; circle and
 * annulus centred, r = min(width, height) / 2; annulus r_inner = 0.
 */
export type RoiShape =
  | { readonly kind: "rect"; readonly x: number; readonly y: number; readonly w: number; readonly h: number }
  | { readonly kind: "circle"; readonly cx: number; readonly cy: number; readonly r: number }
  | { readonly kind: "annulus"; readonly cx: number; readonly cy: number; readonly r: number; readonly r_inner: number };

type Fields = Record<string, unknown>;

function numberField(shape: Fields, key: string, fallback: number): number {
  const value = shape[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidInputError(`shape.${key} must be a finite number, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Validates a parsed `shape` object against a ROI of width x height. Unlike the old backend,
 * which silently used the whole ROI for an unknown kind, an unknown or missing kind is a 400.
 */
export function parseShape(raw: unknown, width: number, height: number): RoiShape {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new InvalidInputError("shape must be a JSON object");
  const shape = raw as Fields;
  const kind = shape.kind;
  if (kind === "rect") {
    const rect = {
      kind,
      x: numberField(shape, "x", 0),
      y: numberField(shape, "y", 0),
      w: numberField(shape, "w", width),
      h: numberField(shape, "h", height),
    } as const;
    if (rect.w <= 0 || rect.h <= 0) throw new InvalidInputError(`shape rect needs w > 0 and h > 0, got w=${rect.w} h=${rect.h}`);
    return rect;
  }
  if (kind === "circle" || kind === "annulus") {
    const cx = numberField(shape, "cx", width / 2);
    const cy = numberField(shape, "cy", height / 2);
    const r = numberField(shape, "r", min(width, height) / 2);
    if (r <= 0) throw new InvalidInputError(`shape ${kind} needs r > 0, got r=${r}`);
    if (kind === "circle") return { kind, cx, cy, r };
    const rInner = numberField(shape, "r_inner", 0);
    if (rInner < 0 || rInner >= r) throw new InvalidInputError(`shape annulus needs 0 <= r_inner < r, got r_inner=${rInner} r=${r}`);
    return { kind, cx, cy, r, r_inner: rInner };
  }
  throw new InvalidInputError(`shape.kind must be "rect", "circle" or "annulus", got ${JSON.stringify(kind)}`);
}

/**
 * Mask Uint8Array [height, width], 1 inside. Pixel (x, y) is tested at its integer coordinates,
 * as numpy index grids do: circle (x-cx)^2 + (y-cy)^2 <= r^2; annulus r_inner^2 < d^2 <= r^2;
 * rect rows round(y)..round(y+h)-1 and columns round(x)..round(x+w)-1, clipped to the ROI.
 * No shape = the whole ROI. A shape that covers no pixel of the ROI is a 400.
 */
export function roiMask(shape: RoiShape | undefined, width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  if (!shape) return mask.fill(1);
  if (shape.kind === "rect") {
    const x0 = max(0, round(shape.x));
    const x1 = min(width, round(shape.x + shape.w));
    const y0 = max(0, round(shape.y));
    const y1 = min(height, round(shape.y + shape.h));
    for (let y = y0; y < y1; y++) mask.fill(1, y * width + x0, y * width + max(x0, x1));
  } else {
    const outer = shape.r * shape.r;
    const inner = shape.kind === "annulus" ? shape.r_inner * shape.r_inner : -1;
    for (let y = 0; y < height; y++) {
      const dy2 = (y - shape.cy) ** 2;
      for (let x = 0; x < width; x++) {
        const d2 = (x - shape.cx) ** 2 + dy2;
        if (d2 <= outer && d2 > inner) mask[y * width + x] = 1;
      }
    }
  }
  if (mask.indexOf(1) < 0) throw new InvalidInputError(`The shape covers no pixel of the ${width}x${height} ROI`);
  return mask;
}
