import { loadConfig, type Config, type LimitsConfig } from "../config";
import { createLogger, type Logger } from "../log";

/** What every function's composition root has: the configuration, the logger, and what the HTTP edge needs of them. */
export interface BaseServices {
  readonly config: Config;
  readonly log: Logger;
  /** lib/http's HttpEdge: the logger and the request limits. */
  readonly edge: { readonly log: Logger; readonly limits: LimitsConfig };
}

/**
 * Configuration parsed (a bad value throws ConfigError naming the variable, so a misconfigured
 * function fails its INIT loudly) and the logger: the whole composition root of the functions
 * that use neither the store nor the model (the documentation), so their bundles stay small.
 */
export function createBaseServices(config: Config = loadConfig(process.env), log?: Logger): BaseServices {
  const logger = log ?? createLogger(config.logLevel, { service: "patchcore-inspection-api" });
  return { config, log: logger, edge: { log: logger, limits: config.limits } };
}
