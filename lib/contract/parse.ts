import type { z } from "zod";
import { InvalidInputError } from "../errors";

/**
 * Validates and coerces `value` with `schema`; the first problem becomes an InvalidInputError
 * whose message is the field's own (every field schema writes complete messages naming itself).
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join(".");
  const message = field === "" || issue.message.includes(field.split(".")[0]!) ? issue.message : `${field}: ${issue.message}`;
  throw new InvalidInputError(message);
}
