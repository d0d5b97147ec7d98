import type { Context } from "aws-lambda";
import { z } from "zod";
import type { UseCaseContext } from "../app/context";
import type { Services } from "../app/services";
import { Timings } from "../util/timings";
import { fitFromDataset, type DatasetFitCommand } from "./datasetFit";
import { JobProgress } from "./jobs";
import { runBatchJob, type BatchCommand } from "./batch";
import { workerTask, type WorkerResult } from "./tasks";
import { embedChunk, scoreChunk } from "./worker";

function contextOf(services: Services, lambda: Context | undefined, fields: Record<string, unknown>): UseCaseContext {
  const requestId = lambda?.awsRequestId ?? "local";
  return {
    requestId,
    log: services.log.child({ lambda_request_id: requestId, ...fields }),
    timings: new Timings(),
    remainingMs: () => (typeof lambda?.getRemainingTimeInMillis === "function" ? lambda.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY),
  };
}

/**
 * The worker function: one chunk of a fan-out per invocation (invoked directly by a coordinator,
 * not through API Gateway). A thrown error is the invocation's FunctionError, which the
 * coordinator retries once.
 */
export function workerHandler(services: Services) {
  return async (event: unknown, lambda?: Context): Promise<WorkerResult> => {
    const parsed = workerTask.and(z.object({ attempt: z.number().int().positive() })).parse(event);
    const ctx = contextOf(services, lambda, { worker: parsed.kind, job_id: parsed.jobId, chunk: parsed.chunk, attempt: parsed.attempt });
    try {
      const result =
        parsed.kind === "embed" ? await embedChunk(services, parsed, parsed.attempt, ctx) : await scoreChunk(services, parsed, parsed.attempt, ctx);
      ctx.log.info("worker done", { images: result.images, errors: result.errors, work_ms: Math.round(result.workMs), timings_ms: result.stagesMs });
      return result;
    } catch (error) {
      ctx.log.error("worker failed", { error });
      throw error;
    }
  };
}

/** The job runner function: a job's coordinator, started asynchronously by startJob. */
export function jobRunnerHandler(services: Services) {
  return async (event: { jobId: string; requestId?: string }, lambda?: Context): Promise<void> => {
    const ctx = contextOf(services, lambda, { job_id: event.jobId, request_id: event.requestId });
    const job = await services.jobs.load(event.jobId, ctx.timings);
    if (!job) {
      ctx.log.error("job runner started for a job that does not exist");
      return;
    }
    if (job.state !== "queued") {
      ctx.log.warn("job already started (a repeated asynchronous invocation): not run twice", { state: job.state });
      return;
    }
    const progress = new JobProgress(services, job, ctx);
    try {
      const result =
        job.kind === "fit"
          ? await fitFromDataset(services, job.command as unknown as DatasetFitCommand, progress, ctx)
          : await runBatchJob(services, job.kind, job.command as unknown as BatchCommand, progress, ctx);
      await progress.finish(result as Record<string, unknown>, ctx.timings.toJSON());
      ctx.log.info("job done", { kind: job.kind, timings_ms: ctx.timings.toJSON() });
    } catch (error) {
      ctx.log.error("job failed", { kind: job.kind, error });
      await progress.fail(error);
    }
  };
}
