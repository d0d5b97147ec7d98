import busboy from "busboy";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { bodyBytes, formatMb } from "./body";
import type { UploadedFile } from "../contract/files";
import { header } from "./headers";
import { InvalidInputError, TooLargeError, UnsupportedMediaTypeError } from "../errors";

/** A parsed multipart/form-data body: text fields and files by field name, in arrival order. */
export class MultipartForm {
  constructor(
    readonly fields: ReadonlyMap<string, readonly string[]>,
    readonly files: ReadonlyMap<string, readonly UploadedFile[]>,
  ) {}

  /** A field sent at most once, or undefined. A duplicate is a 400 (which of two values would be meant?). */
  text(name: string): string | undefined {
    const values = this.fields.get(name);
    if (values && values.length > 1) throw new InvalidInputError(`Field ${name} is sent ${values.length} times; send it once`);
    if (this.files.has(name)) throw new InvalidInputError(`Field ${name} must be a text part, not a file`);
    return values?.[0];
  }

  /** Every value of a text field sent several times (e.g. one meta per image), or undefined. */
  textList(name: string): string[] | undefined {
    if (this.files.has(name)) throw new InvalidInputError(`Field ${name} must be text parts, not files`);
    const values = this.fields.get(name);
    return values ? [...values] : undefined;
  }

  requiredText(name: string): string {
    const value = this.text(name);
    if (value === undefined) throw new InvalidInputError(`Missing field ${name}`);
    return value;
  }

  fileList(name: string): readonly UploadedFile[] {
    if (this.fields.has(name)) throw new InvalidInputError(`Field ${name} must be a file part (with a filename), not text`);
    return this.files.get(name) ?? [];
  }
}

export interface MultipartLimits {
  readonly maxFiles: number;
  readonly maxFileBytes: number;
  readonly maxRequestBytes: number;
  /** Largest text field; shape JSON and ids are small. */
  readonly maxFieldBytes?: number;
}

/**
 * Parses multipart/form-data with busboy, as browsers, curl and .NET's MultipartFormDataContent
 * send it (quoted or unquoted boundary and parameters, filename*=utf-8''...). Limits:
 * the whole body (413), files per request (413), bytes per file (413), field size (413).
 */
export function parseMultipart(event: APIGatewayProxyEvent, limits: MultipartLimits): Promise<MultipartForm> {
  const contentType = header(event, "content-type") ?? "";
  if (!/^multipart\/form-data\s*;/i.test(contentType) || !/boundary=/i.test(contentType)) {
    throw new UnsupportedMediaTypeError(`Content-Type must be multipart/form-data with a boundary, got ${JSON.stringify(contentType || "(none)")}`);
  }
  const body = bodyBytes(event, limits.maxRequestBytes);
  const maxFieldBytes = limits.maxFieldBytes ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const fields = new Map<string, string[]>();
    const files = new Map<string, UploadedFile[]>();
    let failure: Error | undefined;
    const fail = (error: Error) => {
      failure ??= error;
    };
    // Settles exactly once: busboy can report one defect several times (the parser's 'error',
    // the file stream it destroys, then 'close'), and any of them may come first.
    let settled = false;
    const settle = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(new MultipartForm(fields, files));
    };
    const malformed = (cause: unknown) => {
      const message = cause instanceof Error ? cause.message : String(cause);
      settle(failure ?? new InvalidInputError(`Malformed multipart body: ${message}`, { cause }));
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { "content-type": contentType },
        defParamCharset: "utf8",
        limits: { files: limits.maxFiles, fileSize: limits.maxFileBytes, fieldSize: maxFieldBytes, fields: 200, parts: limits.maxFiles + 200 },
      });
    } catch (cause) {
      reject(new UnsupportedMediaTypeError(`Content-Type cannot be parsed as multipart/form-data: ${(cause as Error).message}`, { cause }));
      return;
    }
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) fail(new TooLargeError(`Field ${name} is over the limit of ${maxFieldBytes} bytes`));
      const list = fields.get(name) ?? [];
      list.push(value);
      fields.set(name, list);
    });
    parser.on("file", (name, stream, info) => {
      const chunks: Buffer[] = [];
      // A part cut short (no closing boundary) makes busboy destroy this stream with an error:
      // unheard, that error would be an uncaught exception that ends the process.
      stream.on("error", malformed);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () =>
        fail(new TooLargeError(`File ${info.filename ?? name} is over the limit of ${limits.maxFileBytes} bytes per file (${formatMb(limits.maxFileBytes)})`)),
      );
      stream.on("end", () => {
        const list = files.get(name) ?? [];
        list.push({ field: name, filename: info.filename ?? "", mimeType: info.mimeType, data: Buffer.concat(chunks) });
        files.set(name, list);
      });
    });
    parser.on("filesLimit", () => fail(new TooLargeError(`Too many files: at most ${limits.maxFiles} per request`)));
    parser.on("fieldsLimit", () => fail(new TooLargeError("Too many fields: at most 200 per request")));
    parser.on("partsLimit", () => fail(new TooLargeError("Too many parts in the request")));
    parser.on("error", malformed);
    parser.on("close", () => settle(failure));
    try {
      parser.end(body);
    } catch (cause) {
      malformed(cause);
    }
  });
}
