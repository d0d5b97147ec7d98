import type { LogLevel } from "../config/variables";
import { createLogger } from "../log";
import { EmfMetrics } from "./emf";
import type { Observability } from "./invocation";
import { Tracing } from "./tracing";

export interface ObservabilitySettings {
  readonly service: string;
  readonly logLevel: LogLevel;
  readonly debugSampleRate: number;
  /** EMF metric lines written. */
  readonly metrics: boolean;
}

/** The process's logger, metric output and tracer; `write` takes the log lines instead of stdout (tests). */
export function createObservability(settings: ObservabilitySettings, write?: (line: string) => void): Observability {
  return {
    log: createLogger(settings.logLevel, {}, { service: settings.service, debugSampleRate: settings.debugSampleRate, write }),
    metrics: new EmfMetrics(settings.metrics, settings.service),
    tracing: new Tracing(settings.service),
  };
}
