import { InvalidInputError } from "../../errors";
import { mmPerPxProblem } from "../../contract/fields";

export type Meta = Record<string, unknown>;

/** The metas text parts of an upload: none, or one JSON object per image (empty text = no meta). */
export function parseMetas(texts: readonly string[], images: number): Meta[] {
  if (texts.length !== 0 && texts.length !== images) {
    throw new InvalidInputError(`metas has ${texts.length} entries for ${images} images: send none, or exactly one per image, in the same order`);
  }
  return Array.from({ length: images }, (_, i) => {
    const text = texts[i];
    if (text === undefined || text.trim() === "") return {};
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new InvalidInputError(`metas[${i}] is not valid JSON: ${(cause as Error).message}`, { cause });
    }
    return metaObject(value, `metas[${i}]`);
  });
}

export function metaObject(value: unknown, name: string): Meta {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidInputError(`${name} must be a JSON object`);
  const meta = value as Meta;
  if (meta.mm_per_px !== undefined && meta.mm_per_px !== null) {
    const mm = meta.mm_per_px;
    const problem = typeof mm === "number" ? mmPerPxProblem(mm) : `mm_per_px must be a number > 0, got ${JSON.stringify(mm)}`;
    if (problem) throw new InvalidInputError(`${name}: ${problem}`);
  }
  return meta;
}

/** The meta stored with an image: the client's, plus the old backend's defaults where absent. */
export function storedMeta(
  meta: Meta,
  defaults: { role_id: string; roi_id: string; label: string; filename: string; recipe_id: string; original_filename: string },
): Meta {
  const out: Meta = { ...meta };
  for (const [key, value] of Object.entries({ ...defaults, created_at_utc: new Date().toISOString() })) {
    if (out[key] === undefined || out[key] === null) out[key] = value;
  }
  return out;
}

/** The mm_per_px values of metas (for the recipe lock): each distinct one once. */
export function metaScales(metas: readonly Meta[]): number[] {
  return [...new Set(metas.map((m) => m.mm_per_px).filter((v): v is number => typeof v === "number"))];
}
