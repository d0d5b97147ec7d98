import { Logger as PowertoolsLogger, type LogItem } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "./config/variables";

/** Structured JSON logs, one object per line (CloudWatch reads them as is). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** The process's logger: what the use cases see, and Powertools' Logger behind it for the invocation middleware. */
export interface ProcessLogger extends Logger {
  readonly powertools: PowertoolsLogger;
}

export interface LoggerOptions {
  /** The `service` field of every line. */
  readonly service?: string;
  /** Share of invocations logged at debug level whatever LOG_LEVEL says (Powertools' debug sampling), 0..1. */
  readonly debugSampleRate?: number;
  /** Where each line goes (default: stdout, warnings and errors on stderr, as Lambda collects them); tests capture them. */
  readonly write?: (line: string) => void;
}

type PowertoolsOptions = ConstructorParameters<typeof PowertoolsLogger>[0];

/** Powertools' Logger printing each line to `write` (a class per `write`, so lines printed while it constructs go there too). */
function writingLogger(write: (line: string) => void): new (options: PowertoolsOptions) => PowertoolsLogger {
  return class WritingLogger extends PowertoolsLogger {
    protected override printLog(_logLevel: number, log: LogItem): void {
      log.prepareForPrint();
      write(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
    }

    protected override createLogger(options: PowertoolsOptions): PowertoolsLogger {
      return new WritingLogger(options);
    }
  };
}

/**
 * A child is the same Powertools logger with fields added to each line, not a Powertools child:
 * one logger per process keeps one debug-sampling decision for a whole invocation, and a request's
 * child costs an object, not a new logger.
 */
function withFields(root: PowertoolsLogger, base: Record<string, unknown>): Logger {
  const merged = (fields?: Record<string, unknown>) => (fields ? { ...base, ...fields } : base);
  return {
    debug: (message, fields) => root.debug(message, merged(fields)),
    info: (message, fields) => root.info(message, merged(fields)),
    warn: (message, fields) => root.warn(message, merged(fields)),
    error: (message, fields) => root.error(message, merged(fields)),
    child: (fields) => withFields(root, merged(fields)),
  };
}

export function createLogger(level: LogLevel, fields: Record<string, unknown> = {}, options: LoggerOptions = {}): ProcessLogger {
  const Powertools = options.write ? writingLogger(options.write) : PowertoolsLogger;
  const powertools = new Powertools({
    logLevel: level.toUpperCase() as Uppercase<LogLevel>,
    serviceName: options.service,
    sampleRateValue: options.debugSampleRate ?? 0,
  });
  return { ...withFields(powertools, fields), powertools };
}
