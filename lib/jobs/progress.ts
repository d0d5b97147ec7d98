import type { UseCaseContext } from "../context";
import { DomainError } from "../errors";
import type { Job, JobRepository } from "../store/jobRepository";
import type { ChunkOutcome } from "./fanOut";
import type { WorkerResult } from "./tasks";

/** Progress of a running fan-out, written to the job's state as chunks settle (the coordinator is its only writer). */
export class JobProgress {
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly jobs: JobRepository,
    private job: Job,
    private readonly ctx: UseCaseContext,
  ) {}

  get id(): string {
    return this.job.id;
  }

  async start(totalChunks: number): Promise<void> {
    this.job = { ...this.job, state: "running", chunks: { ...this.job.chunks, total: totalChunks } };
    await this.jobs.save(this.job, this.ctx.timings);
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
      .then(() => this.jobs.save(snapshot, this.ctx.timings))
      .catch((error: unknown) => this.ctx.log.warn("could not write a job's progress", { job_id: this.id, error }));
    return this.writes;
  }

  async finish(result: Record<string, unknown>, timings: Record<string, number>): Promise<void> {
    await this.writes;
    this.job = { ...this.job, state: "done", result, timings_ms: timings };
    await this.jobs.save(this.job, this.ctx.timings);
  }

  async fail(error: unknown): Promise<void> {
    await this.writes;
    const code = error instanceof DomainError ? error.code : "internal";
    const message = error instanceof DomainError && code !== "internal" ? error.message : "Internal error; see the service logs";
    this.job = { ...this.job, state: "failed", error: { error: message, code } };
    await this.jobs.save(this.job, this.ctx.timings);
  }
}
