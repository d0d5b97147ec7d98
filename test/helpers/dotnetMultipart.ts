import { randomUUID } from "node:crypto";

/**
 * The bytes .NET's MultipartFormDataContent puts on the wire (System.Net.Http, as the WPF GUI
 * uses it), which differ from browsers and curl:
 * - request header `multipart/form-data; boundary="<guid>"` (boundary quoted);
 * - each part's Content-Type first, then `Content-Disposition: form-data; name=<name>` with the
 *   name unquoted when it is a plain token;
 * - StringContent parts carry `Content-Type: text/plain; charset=utf-8`;
 * - file parts carry `filename=<name>; filename*=utf-8''<percent-encoded name>`;
 * - CRLF line ends, a CRLF before each boundary, `--<boundary>--\r\n` at the end.
 */
export type DotnetPart =
  /** `contentType`: StringContent(text, Encoding.UTF8, "application/json") sends `application/json; charset=utf-8`. */
  | { kind: "string"; name: string; value: string; contentType?: string }
  | { kind: "file"; name: string; filename: string; data: Uint8Array; contentType?: string };

function token(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/(["\\])/g, "\\$1")}"`;
}

export function dotnetMultipart(parts: DotnetPart[], boundary = randomUUID()): { contentType: string; body: Buffer } {
  const chunks: Buffer[] = [];
  parts.forEach((part, i) => {
    chunks.push(Buffer.from(`${i === 0 ? "" : "\r\n"}--${boundary}\r\n`));
    if (part.kind === "string") {
      chunks.push(
        Buffer.from(`Content-Type: ${part.contentType ?? "text/plain; charset=utf-8"}\r\nContent-Disposition: form-data; name=${token(part.name)}\r\n\r\n`),
      );
      chunks.push(Buffer.from(part.value, "utf8"));
    } else {
      const type = part.contentType ? `Content-Type: ${part.contentType}\r\n` : "";
      const star = `utf-8''${encodeURIComponent(part.filename)}`;
      chunks.push(Buffer.from(`${type}Content-Disposition: form-data; name=${token(part.name)}; filename=${token(part.filename)}; filename*=${star}\r\n\r\n`));
      chunks.push(Buffer.from(part.data));
    }
  });
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary="${boundary}"`, body: Buffer.concat(chunks) };
}
