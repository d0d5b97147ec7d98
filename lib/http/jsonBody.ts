import type { APIGatewayProxyEvent } from "aws-lambda";
import { bodyBytes } from "./body";
import { header, type EndpointMiddleware } from "./endpoint";
import { BadRequestError, UnsupportedMediaTypeError } from "./errors";

const bodies = new WeakMap<APIGatewayProxyEvent, unknown>();

/**
 * Middy middleware for application/json bodies: another content type is a 415; a body that is
 * not valid JSON is a 400 with the parser's reason (not a 415, as @middy/http-json-body-parser does).
 */
export function jsonBody(maxBytes: () => number): EndpointMiddleware {
  return {
    before: (request) => {
      const contentType = header(request.event, "content-type") ?? "";
      if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
        throw new UnsupportedMediaTypeError(`Content-Type must be application/json, got ${JSON.stringify(contentType || "(none)")}`);
      }
      const text = bodyBytes(request.event, maxBytes()).toString("utf8");
      if (text.trim() === "") throw new BadRequestError("The request body is empty: send a JSON object");
      try {
        bodies.set(request.event, JSON.parse(text));
      } catch (cause) {
        throw new BadRequestError(`The request body is not valid JSON: ${(cause as Error).message}`, { cause });
      }
    },
  };
}

export function jsonOf(event: APIGatewayProxyEvent): unknown {
  if (!bodies.has(event)) throw new Error("JSON body missing: the handler was not wrapped with jsonBody()");
  return bodies.get(event);
}
