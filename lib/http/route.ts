import { randomUUID } from "node:crypto";
import middy, { type MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { UseCaseContext } from "../context";
import type { InputOf, ResultOf, RouteSpec } from "../contract/routes";
import { invocationMetrics, observed, type Observability, type ObservedContext } from "../observability/invocation";
import { Timings } from "../util/timings";
import { errorResponse } from "./errorResponse";
import { header } from "./headers";
import type { MultipartLimits } from "./multipart";
import { requestInput } from "./requestInput";

/** What the HTTP edge needs from a function's composition root. */
export interface HttpEdge {
  readonly observability: Observability;
  readonly limits: MultipartLimits;
}

type HttpContext = ObservedContext & { request?: UseCaseContext };

const REQUEST_ID_PATTERN = /^[\w.:@-]{1,128}$/;

export function json(statusCode: number, body: object, requestId: string): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { "Content-Type": "application/json", "X-Request-Id": requestId },
    body: JSON.stringify(body),
  };
}

/** An error and its causes, for the logs (message, name, stack of each link). */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    chain.push(e instanceof Error ? { name: e.name, message: e.message, stack: e.stack, ...("code" in e ? { code: e.code } : {}) } : e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return chain;
}

/** A use case's answer that the work became a job (202 Accepted). */
function isAccepted(result: object): boolean {
  return (result as { status?: unknown }).status === "accepted" && "job_id" in result;
}

/** A 302 to `location` (e.g. a presigned S3 URL the client downloads from directly). */
export function redirect(location: string, requestId: string): APIGatewayProxyResult {
  return { statusCode: 302, headers: { Location: location, "X-Request-Id": requestId, "Cache-Control": "no-store" }, body: "" };
}

/**
 * The HTTP contract around every route: X-Request-Id read (or generated) and echoed as a header
 * and as `request_id`; errors as `{"error", "code", "request_id"}` with the status of
 * lib/http/errorResponse.ts, and an `Errors` metric with the code; one structured log line per
 * request with its timings, API Gateway's and Lambda's request ids, and for a 5xx the whole cause
 * chain. The request id and the endpoint annotate the trace.
 */
function httpContract(spec: RouteSpec, edge: HttpEdge): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, HttpContext> {
  const { log: processLog, tracing } = edge.observability;
  return {
    before: (request) => {
      const started = performance.now();
      const given = header(request.event, "x-request-id");
      const requestId = given !== undefined && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
      const log = processLog.child({
        endpoint: spec.name,
        request_id: requestId,
        apigw_request_id: request.event.requestContext?.requestId,
        lambda_request_id: request.context.awsRequestId,
      });
      const remaining =
        typeof request.context.getRemainingTimeInMillis === "function" ? () => request.context.getRemainingTimeInMillis() : () => Number.POSITIVE_INFINITY;
      tracing.annotate({ request_id: requestId, endpoint: spec.name });
      request.context.request = {
        requestId,
        log,
        timings: new Timings(),
        metrics: invocationMetrics(request.context),
        trace: tracing,
        remainingMs: remaining,
        elapsedMs: () => performance.now() - started,
      };
    },
    after: (request) => {
      const ctx = request.context.request!;
      ctx.log.info("request done", { status: request.response?.statusCode, timings_ms: ctx.timings.toJSON() });
    },
    onError: (request) => {
      const ctx = request.context.request;
      const requestId = ctx?.requestId ?? randomUUID();
      const log = ctx?.log ?? processLog.child({ endpoint: spec.name, request_id: requestId });
      const mapped = errorResponse(request.error, requestId);
      invocationMetrics(request.context).add({ code: mapped.body.code }, { Errors: 1 });
      const fields = { status: mapped.status, code: mapped.body.code, timings_ms: ctx?.timings.toJSON() };
      if (mapped.clientFault) log.warn("request rejected", { ...fields, error: mapped.body.error });
      else log.error("request failed", { ...fields, error: mapped.body.error, causes: causeChain(request.error) });
      request.response = json(mapped.status, mapped.body, requestId);
    },
  };
}

/**
 * A Lambda handler for one route: the contract, the request read and validated by the route's
 * schema, then `run` (a transport-free use case) and its result as JSON with the request id.
 */
export function httpRoute<R extends RouteSpec>(
  spec: R,
  edge: HttpEdge,
  run: (input: InputOf<R>, ctx: UseCaseContext) => Promise<ResultOf<R>>,
  respond: (result: ResultOf<R>, requestId: string, input: InputOf<R>) => APIGatewayProxyResult = (result, requestId) =>
    json(isAccepted(result) ? 202 : 200, { ...result, request_id: requestId }, requestId),
) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, HttpContext>()
    .use(observed(edge.observability))
    .use(httpContract(spec, edge))
    .handler(async (event, context) => {
      const ctx = context.request!;
      const input = await requestInput(spec, event, edge.limits);
      return respond(await run(input, ctx), ctx.requestId, input);
    });
}

/** A 200 that is not JSON: the documentation's page and assets. */
export interface TextResult {
  readonly body: string;
  readonly contentType: string;
  /** Cache-Control max-age for browsers, when the body never changes within a deployment. */
  readonly cacheSeconds?: number;
}

/**
 * A Lambda handler for a route whose 200 is text (HTML, CSS, JS) rather than the JSON of
 * httpRoute; the same contract otherwise (request id header, logs, errors as JSON).
 */
export function httpText<R extends RouteSpec>(spec: R, edge: HttpEdge, run: (event: APIGatewayProxyEvent, ctx: UseCaseContext) => Promise<TextResult>) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, HttpContext>()
    .use(observed(edge.observability))
    .use(httpContract(spec, edge))
    .handler(async (event, context) => {
      const ctx = context.request!;
      const result = await run(event, ctx);
      const headers: Record<string, string> = { "Content-Type": result.contentType, "X-Request-Id": ctx.requestId };
      if (result.cacheSeconds) headers["Cache-Control"] = `public, max-age=${result.cacheSeconds}`;
      return { statusCode: 200, headers, body: result.body };
    });
}

type ProxyHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** One function serving several routes: the handler of the event's route (API Gateway's `resource`, e.g. /docs/swagger-ui.css). */
export function byRoute(handlers: Readonly<Record<string, ProxyHandler>>): ProxyHandler {
  return async (event, context) => {
    const handler = handlers[event.resource] ?? handlers[event.path];
    if (handler) return handler(event, context);
    const requestId = randomUUID();
    return json(404, { error: `No route for ${event.httpMethod} ${event.path} in this function`, code: "not_found", request_id: requestId }, requestId);
  };
}
