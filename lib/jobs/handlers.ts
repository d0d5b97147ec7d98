import type { Context } from "aws-lambda";
import { z } from "zod";
import type { UseCaseContext } from "../context";
import type { Logger } from "../log";
import type { JobRepository } from "../store/jobRepository";
import { Timings } from "../util/timings";
import { JobProgress } from "./progress";
import { workerTaskEnvelope, type TaskKind, type WorkerResult } from "./tasks";

function contextOf(log: Logger, lambda: Context | undefined, fields: Record<string, unknown>): UseCaseContext {
  const requestId = lambda?.awsRequestId ?? "local";
  return {
    requestId,
    log: log.child({ lambda_request_id: requestId, ...fields }),
    timings: new Timings(),
    remainingMs: () => (typeof lambda?.getRemainingTimeInMillis === "function" ? lambda.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY),
  };
}

/**
 * The worker function: one chunk of a fan-out per invocation (invoked directly by a coordinator,
 * not through API Gateway), run by the task kind it names. A thrown error is the invocation's
 * FunctionError, which the coordinator retries once.
 */
export function workerHandler(log: Logger, kinds: Readonly<Record<string, TaskKind>>) {
  return async (event: unknown, lambda?: Context): Promise<WorkerResult> => {
    const envelope = workerTaskEnvelope.extend({ attempt: z.number().int().positive() }).parse(event);
    const kind = kinds[envelope.kind];
    if (!kind) throw new Error(`No worker task kind ${JSON.stringify(envelope.kind)} (known: ${Object.keys(kinds).join(", ")})`);
    const task = kind.schema.parse(event);
    const ctx = contextOf(log, lambda, { worker: task.kind, job_id: task.jobId, chunk: task.chunk, attempt: envelope.attempt });
    try {
      const result = await kind.run(task, envelope.attempt, ctx);
      ctx.log.info("worker done", { images: result.images, errors: result.errors, work_ms: Math.round(result.workMs), timings_ms: result.stagesMs });
      return result;
    } catch (error) {
      ctx.log.error("worker failed", { error });
      throw error;
    }
  };
}

/** A kind of job: its command's schema (checked when the job runner reads it back) and its coordinator. */
export interface JobKind<C = unknown> {
  readonly command: z.ZodType<C>;
  run(command: C, progress: JobProgress, ctx: UseCaseContext): Promise<Record<string, unknown>>;
}

/** The job runner function: a job's coordinator, started asynchronously by startJob, run by the job kind it names. */
export function jobRunnerHandler(services: { readonly jobs: JobRepository; readonly log: Logger }, kinds: Readonly<Record<string, JobKind>>) {
  return async (event: { jobId: string; requestId?: string }, lambda?: Context): Promise<void> => {
    const ctx = contextOf(services.log, lambda, { job_id: event.jobId, request_id: event.requestId });
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
    try {
      const kind = kinds[job.kind];
      if (!kind) throw new Error(`No job kind ${JSON.stringify(job.kind)} (known: ${Object.keys(kinds).join(", ")})`);
      const result = await kind.run(kind.command.parse(job.command), progress, ctx);
      await progress.finish(result, ctx.timings.toJSON());
      ctx.log.info("job done", { kind: job.kind, timings_ms: ctx.timings.toJSON() });
    } catch (error) {
      ctx.log.error("job failed", { kind: job.kind, error });
      await progress.fail(error);
    }
  };
}
