import { z } from "zod";

/** One file part of a multipart request. */
export interface UploadedFile {
  readonly field: string;
  readonly filename: string;
  readonly mimeType: string;
  readonly data: Buffer;
}

const uploadedFile = z
  .custom<UploadedFile>((value) => typeof value === "object" && value !== null && Buffer.isBuffer((value as UploadedFile).data))
  .meta({ type: "string", format: "binary" });

/**
 * The file parts of one multipart field. `min`/`max` are checked with the given messages; the
 * schema marks the field as a file list so the multipart reader and the OpenAPI document know it.
 */
export function fileParts(options: { min: number; max?: number; missing: string; tooMany?: (count: number) => string; description: string }) {
  let list = z.array(uploadedFile).min(options.min, options.missing);
  if (options.max !== undefined)
    list = list.max(options.max, {
      error: (issue) => options.tooMany?.(Array.isArray(issue.input) ? issue.input.length : 0) ?? `at most ${options.max} files`,
    });
  return list.meta({ description: options.description, [FILE_PARTS]: true });
}

/** Marks a schema as file parts in its metadata. */
export const FILE_PARTS = "x-file-parts";

export function isFileParts(schema: z.ZodType): boolean {
  return Boolean((schema.meta() as Record<string, unknown> | undefined)?.[FILE_PARTS]);
}

/** Marks a schema as a repeated text field (every value of the name, in order). */
export const TEXT_PARTS = "x-text-parts";

/** A text field that may be sent several times (e.g. metas, one per image): all its values, in order. */
export function textParts(name: string, description: string) {
  return z
    .array(z.string({ error: `${name} must be text parts` }))
    .optional()
    .transform((values) => values ?? [])
    .meta({ description, [TEXT_PARTS]: true });
}

export function isTextParts(schema: z.ZodType): boolean {
  return Boolean((schema.meta() as Record<string, unknown> | undefined)?.[TEXT_PARTS]);
}
