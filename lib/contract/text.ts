import { InvalidInputError } from "../errors";

const INVARIANT_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A number written in invariant culture ("0.2", "1e-3"), as the GUI sends it. A decimal comma
 * ("0,2", what a Spanish or German locale would write) is refused with a message that says so.
 */
export function parseInvariantNumber(name: string, text: string): number {
  const trimmed = text.trim();
  if (!INVARIANT_NUMBER.test(trimmed)) {
    const hint = /^[+-]?\d+,\d+$/.test(trimmed) ? " (use '.' as the decimal point: invariant culture)" : "";
    throw new InvalidInputError(`${name} must be a number, got ${JSON.stringify(text)}${hint}`);
  }
  const value = Number(trimmed);
  if (!Number.isFinite(value)) throw new InvalidInputError(`${name} must be a finite number, got ${JSON.stringify(text)}`);
  return value;
}

/** "true" / "false" in any letter case (.NET's bool.ToString() gives "True" / "False"); absent = fallback. */
export function parseBoolText(name: string, text: string | undefined, fallback: boolean): boolean {
  if (text === undefined || text.trim() === "") return fallback;
  const value = text.trim().toLowerCase();
  if (value === "true") return true;
  if (value === "false") return false;
  throw new InvalidInputError(`${name} must be "true" or "false", got ${JSON.stringify(text)}`);
}

/** A JSON text field (e.g. shape); invalid JSON is a 400 naming the field. */
export function parseJsonText(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(`${name} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}
