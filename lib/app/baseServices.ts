import { loadConfig, type Config, type LimitsConfig } from "../config";
import type { Logger } from "../log";
import { createObservability } from "../observability/create";
import type { Observability } from "../observability/invocation";

/** What every function's composition root has: the configuration, logs, metrics and traces, and what the HTTP edge needs of them. */
export interface BaseServices {
  readonly config: Config;
  readonly log: Logger;
  readonly observability: Observability;
  /** lib/http's HttpEdge: logs, metrics, traces and the request limits. */
  readonly edge: { readonly observability: Observability; readonly limits: LimitsConfig };
}

/**
 * Configuration parsed (a bad value throws ConfigError naming the variable, so a misconfigured
 * function fails its INIT loudly), the logger, the metric output and the tracer: the whole
 * composition root of the functions that use neither the store nor the model (the documentation),
 * so their bundles stay small.
 */
export function createBaseServices(config: Config = loadConfig(process.env), observability?: Observability): BaseServices {
  const o = observability ?? createObservability({ ...config.observability, logLevel: config.logLevel });
  return { config, log: o.log, observability: o, edge: { observability: o, limits: config.limits } };
}
