import { randomUUID } from "node:crypto";
import middy, { type MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { getLogger, type Logger } from "../log";
import { HttpError } from "./errors";
import { Timings } from "../util/timings";

/** What every handler gets besides the event. */
export interface RequestContext {
  readonly requestId: string;
  readonly log: Logger;
  readonly timings: Timings;
}

export type JsonBody = Record<string, unknown>;
export type EndpointHandler = (event: APIGatewayProxyEvent, ctx: RequestContext) => Promise<JsonBody>;
export type EndpointMiddleware = MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>;

const contexts = new WeakMap<APIGatewayProxyEvent, RequestContext>();
const REQUEST_ID_PATTERN = /^[\w.:@-]{1,128}$/;

/** Case-insensitive header lookup (API Gateway REST keeps the client's casing). */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

export function contextOf(event: APIGatewayProxyEvent): RequestContext {
  const ctx = contexts.get(event);
  if (!ctx) throw new Error("request context missing: the handler was not wrapped by endpoint()");
  return ctx;
}

function json(statusCode: number, body: JsonBody, requestId: string): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { "Content-Type": "application/json", "X-Request-Id": requestId },
    body: JSON.stringify(body),
  };
}

/**
 * The HTTP contract around every endpoint: X-Request-Id read (or generated) and echoed as a
 * header and as `request_id` in the JSON body; errors as `{"error", "request_id"}` with the
 * error's status, only 4xx messages exposed; one structured log line per request with timings.
 */
function httpContract(endpoint: string): EndpointMiddleware {
  return {
    before: (request) => {
      const given = header(request.event, "x-request-id");
      const requestId = given !== undefined && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
      const log = getLogger().child({ endpoint, request_id: requestId });
      contexts.set(request.event, { requestId, log, timings: new Timings() });
    },
    after: (request) => {
      const ctx = contextOf(request.event);
      ctx.log.info("request done", { status: request.response?.statusCode, timings_ms: ctx.timings.toJSON() });
    },
    onError: (request) => {
      const ctx = contexts.get(request.event);
      const requestId = ctx?.requestId ?? randomUUID();
      const log = ctx?.log ?? getLogger().child({ endpoint, request_id: requestId });
      const error = request.error;
      if (error instanceof HttpError && error.expose) {
        log.warn("request rejected", { status: error.statusCode, error: error.message, timings_ms: ctx?.timings.toJSON() });
        request.response = json(error.statusCode, { error: error.message, request_id: requestId }, requestId);
      } else {
        const status = error instanceof HttpError ? error.statusCode : 500;
        log.error("request failed", { status, error, timings_ms: ctx?.timings.toJSON() });
        request.response = json(status, { error: "Internal server error", request_id: requestId }, requestId);
      }
    },
  };
}

/** A Lambda handler for API Gateway: the contract, then `middlewares` (parsers), then `handler`. */
export function endpoint(name: string, handler: EndpointHandler, middlewares: EndpointMiddleware[] = []) {
  let chain = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>().use(httpContract(name));
  for (const middleware of middlewares) chain = chain.use(middleware);
  return chain.handler(async (event) => {
    const ctx = contextOf(event);
    const body = await handler(event, ctx);
    return json(200, { ...body, request_id: ctx.requestId }, ctx.requestId);
  });
}
