import type { Logger } from "./log";
import { noMetrics, type MetricsRecorder } from "./observability/recorder";
import { noTrace, type Trace } from "./observability/trace";
import { Timings } from "./util/timings";

/** What a use case gets from whoever calls it (an HTTP handler, a batch worker, the bench). */
export interface UseCaseContext {
  readonly requestId: string;
  readonly log: Logger;
  readonly timings: Timings;
  /** The invocation's metrics (written as EMF lines when it ends). */
  readonly metrics: MetricsRecorder;
  /** The invocation's trace (X-Ray annotations). */
  readonly trace: Trace;
  /** Milliseconds left before the caller's own deadline (Lambda's remaining time); Infinity when none. */
  remainingMs(): number;
  /** Milliseconds since the invocation began. */
  elapsedMs(): number;
}

/** A context outside any function (the bench, tests): no deadline, metrics and trace kept nowhere unless given. */
export function standaloneContext(log: Logger, requestId = "local", observe: { metrics?: MetricsRecorder; trace?: Trace } = {}): UseCaseContext {
  const started = performance.now();
  return {
    requestId,
    log,
    timings: new Timings(),
    metrics: observe.metrics ?? noMetrics,
    trace: observe.trace ?? noTrace,
    remainingMs: () => Number.POSITIVE_INFINITY,
    elapsedMs: () => performance.now() - started,
  };
}
