import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import type { MiddlewareObj } from "@middy/core";
import type { Context } from "aws-lambda";
import type { ProcessLogger } from "../log";
import type { EmfMetrics, InvocationMetrics } from "./emf";
import { noMetrics, type MetricsRecorder } from "./recorder";
import type { Tracing } from "./tracing";

/** The process's logs, metrics and traces (made once by a function's composition root). */
export interface Observability {
  readonly log: ProcessLogger;
  readonly metrics: EmfMetrics;
  readonly tracing: Tracing;
}

/** The Lambda context while observed: the invocation's metric recorder rides on it. */
export type ObservedContext = Context & { metrics?: InvocationMetrics };

/** The invocation's recorder (nothing is recorded outside an observed handler). */
export function invocationMetrics(context: Context | undefined): MetricsRecorder {
  return (context as ObservedContext | undefined)?.metrics ?? noMetrics;
}

function metricsPerInvocation(metrics: EmfMetrics): MiddlewareObj<unknown, unknown, Error, ObservedContext> {
  const publish = (request: { context: ObservedContext }) => request.context.metrics?.publish();
  return {
    before: (request) => {
      metrics.coldStart(request.context.functionName);
      request.context.metrics = metrics.open();
    },
    after: publish,
    onError: publish,
  };
}

/**
 * What every function's handler is wrapped in, outermost first: its X-Ray subsegment with the
 * cold-start and service annotations (Powertools' tracer; responses are not copied into the trace,
 * an /infer answer holds a heatmap), the Lambda context in every log line and the debug sampling
 * drawn again (Powertools' logger), and the invocation's metrics, written as EMF lines when it
 * ends, answered or failed. A middleware used after these sees the recorder (invocationMetrics).
 */
export function observed(o: Observability): MiddlewareObj<unknown, unknown, Error, ObservedContext>[] {
  return [
    captureLambdaHandler(o.tracing.tracer, { captureResponse: false }),
    injectLambdaContext(o.log.powertools, { resetKeys: true }),
    metricsPerInvocation(o.metrics),
  ];
}
