import type { APIGatewayProxyEvent } from "aws-lambda";
import { TooLargeError } from "../errors";

/** The raw request body (API Gateway sends binary media types base64-encoded), checked against maxBytes. */
export function bodyBytes(event: APIGatewayProxyEvent, maxBytes: number): Buffer {
  const raw = event.body ?? "";
  const body = event.isBase64Encoded ? Buffer.from(raw, "base64") : Buffer.from(raw, "utf8");
  if (body.length > maxBytes) {
    throw new TooLargeError(`Request body is ${body.length} bytes, over the limit of ${maxBytes} bytes (${formatMb(maxBytes)})`);
  }
  return body;
}

/** Bytes as decimal megabytes (1 MB = 1,000,000 bytes, as the README and Lambda's limits are written). */
export function formatMb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes % 1e6 === 0 ? 0 : 1)} MB`;
}
