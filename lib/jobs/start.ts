import { randomUUID } from "node:crypto";
import type { UseCaseContext } from "../context";
import type { JobAccepted } from "../contract/jobs";
import type { Job } from "../store/jobRepository";
import type { JobServices } from "./jobServices";

/** How long a link to a job's full result (a presigned S3 URL) is valid. */
export const RESULT_URL_SECONDS = 15 * 60;

/**
 * Creates a job (its state in S3) and starts its coordinator: the job runner function, invoked
 * asynchronously (Lambda queues it; it may run up to 15 minutes), which runs the job kind
 * registered under `kind` with `command`. The client follows it with GET /jobs/{id}.
 */
export async function startJob(
  services: JobServices,
  kind: string,
  command: Record<string, unknown>,
  images: number,
  estimateMs: number,
  ctx: UseCaseContext,
): Promise<Omit<JobAccepted, "request_id">> {
  const now = new Date().toISOString();
  const job: Job = {
    id: randomUUID(),
    kind,
    state: "queued",
    created_at: now,
    updated_at: now,
    command,
    progress: { done: 0, total: images, errors: 0 },
    chunks: { total: 0, done: 0, retried: 0, failed: 0 },
    timings_ms: {},
    result: null,
    error: null,
  };
  await services.jobs.save(job, ctx.timings);
  await services.invoker.startAsync(services.config.fanOut.jobRunnerFunction, { jobId: job.id, requestId: ctx.requestId });
  ctx.log.info("job started", { job_id: job.id, kind, images, estimate_ms: Math.round(estimateMs) });
  return { status: "accepted", job_id: job.id, job_state: "queued", status_url: `/jobs/${job.id}`, n_images: images, estimate_ms: Math.round(estimateMs) };
}
