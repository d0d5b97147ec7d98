import { Tracer } from "@aws-lambda-powertools/tracer";
import type { Annotations, Trace } from "./trace";

/**
 * X-Ray through Powertools' Tracer, one per process. It is on only in a Lambda runtime
 * (AWS_EXECUTION_ENV set, and POWERTOOLS_TRACE_ENABLED not "false"); elsewhere (npm start, the
 * tests, the bench) every call here does nothing and nothing is printed. Outgoing HTTP is not
 * captured globally: the AWS clients are, one subsegment per call.
 */
export class Tracing implements Trace {
  readonly tracer: Tracer;

  constructor(service: string) {
    this.tracer = new Tracer({ serviceName: service, captureHTTPsRequests: false });
  }

  get enabled(): boolean {
    return this.tracer.isTracingEnabled();
  }

  annotate(annotations: Annotations): void {
    if (!this.enabled) return;
    for (const [key, value] of Object.entries(annotations)) if (value !== null && value !== undefined) this.tracer.putAnnotation(key, value);
  }

  /** An AWS SDK v3 client whose calls become subsegments (S3 GetObject, Lambda Invoke, ...). */
  capture<C>(client: C): C {
    return this.enabled ? this.tracer.captureAWSv3Client(client) : client;
  }
}
