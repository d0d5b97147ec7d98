import type { Logger } from "./log";
import { Timings } from "./util/timings";

/** What a use case gets from whoever calls it (an HTTP handler, a batch worker, the bench). */
export interface UseCaseContext {
  readonly requestId: string;
  readonly log: Logger;
  readonly timings: Timings;
  /** Milliseconds left before the caller's own deadline (Lambda's remaining time); Infinity when none. */
  remainingMs(): number;
}

export function standaloneContext(log: Logger, requestId = "local"): UseCaseContext {
  return { requestId, log, timings: new Timings(), remainingMs: () => Number.POSITIVE_INFINITY };
}
