import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { z } from "zod";
import type { UseCaseContext } from "../context";
import { DomainError } from "../errors";
import { invocationMetrics, observed, type Observability, type ObservedContext } from "../observability/invocation";
import type { Dimensions } from "../observability/recorder";
import type { JobRepository } from "../store/jobRepository";
import { Timings } from "../util/timings";
import { JobProgress } from "./progress";
import { workerTaskEnvelope, type TaskKind, type WorkerResult } from "./tasks";

function contextOf(o: Observability, lambda: Context | undefined, fields: Record<string, unknown>): UseCaseContext {
  const started = performance.now();
  const requestId = lambda?.awsRequestId ?? "local";
  return {
    requestId,
    log: o.log.child({ lambda_request_id: requestId, ...fields }),
    timings: new Timings(),
    metrics: invocationMetrics(lambda),
    trace: o.tracing,
    remainingMs: () => (typeof lambda?.getRemainingTimeInMillis === "function" ? lambda.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY),
    elapsedMs: () => performance.now() - started,
  };
}

const codeOf = (error: unknown) => (error instanceof DomainError ? error.code : "internal");

/**
 * The worker function: one chunk of a fan-out per invocation (invoked directly by a coordinator,
 * not through API Gateway), run by the task kind it names. A thrown error is the invocation's
 * FunctionError, which the coordinator retries once; it is counted in `Errors` with its code.
 */
export function workerHandler(o: Observability, kinds: Readonly<Record<string, TaskKind>>) {
  return middy<unknown, WorkerResult, Error, ObservedContext>()
    .use(observed(o))
    .handler(async (event, lambda) => {
      const envelope = workerTaskEnvelope.extend({ attempt: z.number().int().positive() }).parse(event);
      const kind = kinds[envelope.kind];
      if (!kind) throw new Error(`No worker task kind ${JSON.stringify(envelope.kind)} (known: ${Object.keys(kinds).join(", ")})`);
      const task = kind.schema.parse(event);
      const ctx = contextOf(o, lambda, { worker: task.kind, job_id: task.jobId, chunk: task.chunk, attempt: envelope.attempt });
      try {
        const result = await kind.run(task, envelope.attempt, ctx);
        ctx.log.info("worker done", { images: result.images, errors: result.errors, work_ms: Math.round(result.workMs), timings_ms: result.stagesMs });
        return result;
      } catch (error) {
        ctx.log.error("worker failed", { error });
        ctx.metrics.add({ code: codeOf(error) }, { Errors: 1 });
        throw error;
      }
    });
}

/** A kind of job: its command's schema (checked when the job runner reads it back) and its coordinator. */
export interface JobKind<C = unknown> {
  readonly command: z.ZodType<C>;
  run(command: C, progress: JobProgress, ctx: UseCaseContext): Promise<Record<string, unknown>>;
  /** The line the job works for, as metric dimensions (its recipe). */
  dimensions(command: C): Dimensions;
}

/**
 * The job runner function: a job's coordinator, started asynchronously by startJob, run by the job
 * kind it names. Every job that starts ends with JobImages, JobDuration and JobFailures (0 or 1)
 * under its recipe and kind, and under the service alone (what the job-failure alarm watches).
 */
export function jobRunnerHandler(services: { readonly jobs: JobRepository; readonly observability: Observability }, kinds: Readonly<Record<string, JobKind>>) {
  return middy<{ jobId: string; requestId?: string }, void, Error, ObservedContext>()
    .use(observed(services.observability))
    .handler((event, lambda) => runJob(services, kinds, event, lambda));
}

async function runJob(
  services: { readonly jobs: JobRepository; readonly observability: Observability },
  kinds: Readonly<Record<string, JobKind>>,
  event: { jobId: string; requestId?: string },
  lambda: Context,
): Promise<void> {
  const ctx = contextOf(services.observability, lambda, { job_id: event.jobId, request_id: event.requestId });
  const job = await services.jobs.load(event.jobId, ctx.timings);
  if (!job) {
    ctx.log.error("job runner started for a job that does not exist");
    return;
  }
  if (job.state !== "queued") {
    ctx.log.warn("job already started (a repeated asynchronous invocation): not run twice", { state: job.state });
    return;
  }
  const progress = new JobProgress(services.jobs, job, ctx);
  let dimensions: Dimensions = { kind: job.kind };
  let failed = 0;
  try {
    const kind = kinds[job.kind];
    if (!kind) throw new Error(`No job kind ${JSON.stringify(job.kind)} (known: ${Object.keys(kinds).join(", ")})`);
    const command = kind.command.parse(job.command);
    dimensions = { ...kind.dimensions(command), kind: job.kind };
    const result = await kind.run(command, progress, ctx);
    await progress.finish(result, ctx.timings.toJSON());
    ctx.log.info("job done", { kind: job.kind, timings_ms: ctx.timings.toJSON() });
  } catch (error) {
    failed = 1;
    ctx.log.error("job failed", { kind: job.kind, error });
    ctx.metrics.add({ code: codeOf(error) }, { Errors: 1 });
    await progress.fail(error);
  } finally {
    ctx.metrics.add(dimensions, { JobImages: job.progress.total, JobDuration: ctx.elapsedMs(), JobFailures: failed }, [{}]);
  }
}
