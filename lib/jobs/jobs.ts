import { randomUUID } from "node:crypto";
import type { UseCaseContext } from "../app/context";
import type { Services } from "../app/services";
import type { GetJobRequest, JobAccepted } from "../contract/jobs";
import { DomainError, NotFoundError } from "../errors";
import type { Job } from "../store/jobRepository";
import type { ChunkOutcome } from "./fanOut";
import type { WorkerResult } from "./tasks";

export type JobKind = Job["kind"];

/** How long a job result's download link is valid. */
const RESULT_URL_SECONDS = 15 * 60;

/** Progress of a running fan-out, written to the job's state as chunks settle (the coordinator is its only writer). */
export class JobProgress {
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly services: Services,
    private job: Job,
    private readonly ctx: UseCaseContext,
  ) {}

  get id(): string {
    return this.job.id;
  }

  async start(totalChunks: number): Promise<void> {
    this.job = { ...this.job, state: "running", chunks: { ...this.job.chunks, total: totalChunks } };
    await this.services.jobs.save(this.job, this.ctx.timings);
  }

  retried(): void {
    this.job = { ...this.job, chunks: { ...this.job.chunks, retried: this.job.chunks.retried + 1 } };
  }

  /** One chunk settled: counts, then the state written (in order, one write at a time). */
  settled(outcome: ChunkOutcome<WorkerResult>, images: number): Promise<void> {
    const { progress, chunks } = this.job;
    this.job = {
      ...this.job,
      progress: {
        ...progress,
        done: progress.done + (outcome.ok ? outcome.result.images : 0),
        errors: progress.errors + (outcome.ok ? outcome.result.errors : images),
      },
      chunks: { ...chunks, done: chunks.done + (outcome.ok ? 1 : 0), failed: chunks.failed + (outcome.ok ? 0 : 1) },
    };
    const snapshot = this.job;
    this.writes = this.writes
      .then(() => this.services.jobs.save(snapshot, this.ctx.timings))
      .catch((error: unknown) => this.ctx.log.warn("could not write a job's progress", { job_id: this.id, error }));
    return this.writes;
  }

  async finish(result: Record<string, unknown>, timings: Record<string, number>): Promise<void> {
    await this.writes;
    this.job = { ...this.job, state: "done", result, timings_ms: timings };
    await this.services.jobs.save(this.job, this.ctx.timings);
  }

  async fail(error: unknown): Promise<void> {
    await this.writes;
    const code = error instanceof DomainError ? error.code : "internal";
    const message = error instanceof DomainError && code !== "internal" ? error.message : "Internal error; see the service logs";
    this.job = { ...this.job, state: "failed", error: { error: message, code } };
    await this.services.jobs.save(this.job, this.ctx.timings);
  }
}

/**
 * Creates a job (state in S3) and starts its coordinator: the job runner function, invoked
 * asynchronously (Lambda queues it; it may run up to 15 minutes). The client follows it with
 * GET /jobs/{id}.
 */
export async function startJob(
  services: Services,
  kind: JobKind,
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
  await services.invoker.startAsync(services.config.jobs.jobRunnerFunction, { jobId: job.id, requestId: ctx.requestId });
  ctx.log.info("job started", { job_id: job.id, kind, images, estimate_ms: Math.round(estimateMs) });
  return { status: "accepted", job_id: job.id, job_state: "queued", status_url: `/jobs/${job.id}`, n_images: images, estimate_ms: Math.round(estimateMs) };
}

/** GET /jobs/{id}. */
export async function getJob(services: Services, input: GetJobRequest, ctx: UseCaseContext) {
  const job = await services.jobs.load(input.id, ctx.timings);
  if (!job) throw new NotFoundError(`No job ${input.id}`);
  const batch = job.kind !== "fit" && job.state === "done";
  return {
    job_id: job.id,
    kind: job.kind,
    state: job.state,
    created_at: job.created_at,
    updated_at: job.updated_at,
    progress: job.progress,
    chunks: job.chunks,
    timings_ms: job.timings_ms,
    result: job.result,
    result_url: batch ? await services.jobs.resultUrl(job.id, RESULT_URL_SECONDS) : null,
    error: job.error,
  };
}
