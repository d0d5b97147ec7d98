import { z } from "zod";
import { DomainError, InvalidInputError } from "../errors";
import { idProblem } from "../store/keys";
import { parseBoolText, parseInvariantNumber, parseJsonText } from "./text";

/**
 * Field schemas shared by every request: one rule and one message per field, whether it comes
 * as a multipart text part (always a string, coerced here) or as a JSON value.
 */

/** A text-to-value rule as a schema: `parse` throws InvalidInputError with the client's message. */
function textRule<T>(name: string, parse: (text: string) => T, description: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `Missing field ${name}` : `${name} must be a text field`) })
    .transform((text, ctx) => {
      try {
        return parse(text);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        ctx.issues.push({ code: "custom", message: error.message, input: text });
        return z.NEVER;
      }
    })
    .meta({ description });
}

/** role_id, roi_id, model_key, recipe_id: non-empty UTF-8 text, at most 256 bytes, no NUL. */
export function idField(name: string, description: string) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `Missing field ${name}` : `${name} must be a string`) })
    .superRefine((value, ctx) => {
      const problem = idProblem(name, value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .meta({ description });
}

/** An optional id: absent, null or "" all mean "the default". */
export function optionalIdField(name: string, description: string) {
  return z.preprocess((value) => (value === "" || value === null ? undefined : value), idField(name, description).optional());
}

export function mmPerPxProblem(value: number): string | undefined {
  return value > 0 && Number.isFinite(value) ? undefined : `mm_per_px must be a number > 0, got ${value}`;
}

const MM_PER_PX_DESCRIPTION = "Millimetres per ROI pixel, > 0 (as text in forms: invariant culture, '.' decimal point).";

/** mm_per_px as multipart text ("0.2"). */
export const mmPerPxText = textRule(
  "mm_per_px",
  (text) => {
    const value = parseInvariantNumber("mm_per_px", text);
    const problem = mmPerPxProblem(value);
    if (problem) throw new InvalidInputError(problem);
    return value;
  },
  MM_PER_PX_DESCRIPTION,
);

/** A JSON number with a range rule; the message names the field, the rule and the value. */
export function numberField(name: string, rule: (v: number) => boolean, expected: string, description: string) {
  const message = (issue: { input: unknown }) => `${name} must be ${expected}, got ${JSON.stringify(issue.input) ?? "undefined"}`;
  return z.number({ error: message }).refine(rule, { error: message }).meta({ description });
}

/** mm_per_px as a JSON number. */
export const mmPerPxNumber = numberField("mm_per_px", (v) => v > 0, "a number > 0", MM_PER_PX_DESCRIPTION);

/** A "true"/"false" text part (any letter case: .NET sends "True"); absent or blank = `fallback`. */
export function boolText(name: string, fallback: boolean, description: string) {
  return textRule(name, (text) => parseBoolText(name, text, fallback), description)
    .optional()
    .transform((value) => value ?? fallback)
    .meta({ description: `${description} Text "true" or "false", default ${fallback}.` });
}

/** A JSON document sent as a text part (e.g. shape); blank = absent. */
export function jsonText(name: string, description: string) {
  return textRule(name, (text) => (text.trim() === "" ? undefined : parseJsonText(name, text)), description).optional();
}

function scoreList(name: string, description: string) {
  return z
    .array(z.number({ error: (issue) => `${name}[${String(issue.path?.at(-1) ?? "?")}] must be a finite number, got ${JSON.stringify(issue.input)}` }), {
      error: (issue) => (issue.input === undefined ? `Missing field ${name}: a list of at least one score` : `${name} must be a list of numbers`),
    })
    .meta({ description });
}

/** A list of at least one finite score. */
export function requiredScores(name: string, description: string) {
  return scoreList(name, description).min(1, `${name} must hold at least one score`);
}

/** A list of finite scores, or absent/null (= none). */
export function optionalScores(name: string, description: string) {
  return scoreList(name, description)
    .nullish()
    .transform((value) => value ?? null);
}

const VERSION_DESCRIPTION = "A version of the model (GET /models lists them); absent = the active one.";

function versionOf(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(`${name} must be a whole number >= 1, got ${value}`);
  return value;
}

/** A model version as multipart or query-string text ("3"); blank = absent. */
export function versionText(name: string, description = VERSION_DESCRIPTION) {
  return textRule(name, (text) => (text.trim() === "" ? undefined : versionOf(name, parseInvariantNumber(name, text))), description).optional();
}

/** A model version as a JSON number (absent or null = the active one). */
export function versionNumber(name: string, description = VERSION_DESCRIPTION) {
  return z.preprocess(
    (value) => (value === null ? undefined : value),
    numberField(name, (v) => Number.isInteger(v) && v >= 1, "a whole number >= 1", description).optional(),
  );
}

/** A JSON list of stored file names, sent as a text part (e.g. dataset_files); blank = absent. */
export function fileNamesText(name: string, max: number, description: string) {
  return textRule(
    name,
    (text) => {
      if (text.trim() === "") return undefined;
      const value = parseJsonText(name, text);
      if (!Array.isArray(value) || value.length === 0 || !value.every((f) => typeof f === "string" && f !== "")) {
        throw new InvalidInputError(`${name} must be a JSON list of at least one file name, e.g. ["20261125-101500-123000-3f9c0a1b2c3d.png"]`);
      }
      if (value.length > max) throw new InvalidInputError(`${name} names ${value.length} files: at most ${max} per request`);
      if (new Set(value).size !== value.length) throw new InvalidInputError(`${name} names a file twice`);
      return value as string[];
    },
    description,
  ).optional();
}
