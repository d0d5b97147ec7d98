import { z } from "zod";
import type { UseCaseContext } from "../context";

/**
 * What every worker task carries: one chunk of a job's fan-out. Each kind of task adds its own
 * fields and is registered, with its schema and its work, where the worker function is composed
 * (lib/app/jobs/functions.ts): this mechanism knows no kind.
 */
export const workerTaskEnvelope = z.object({
  kind: z.string(),
  jobId: z.string(),
  chunk: z.number().int().nonnegative(),
  /** The items of the chunk (images): their count is the chunk's share of the job's progress. */
  files: z.array(z.unknown()),
});
export type WorkerTask = z.infer<typeof workerTaskEnvelope>;

/** What a worker answers its coordinator. */
export interface WorkerResult {
  readonly chunk: number;
  /** Where the chunk's partial result is stored. */
  readonly key: string;
  readonly images: number;
  readonly errors: number;
  /** Wall time of the worker's own work, ms (excludes the invocation's overhead). */
  readonly workMs: number;
  readonly stagesMs: Record<string, number>;
}

/** A kind of worker task: its schema (checked on arrival) and its work. `attempt` is 1, then 2 on the one retry. */
export interface TaskKind<T extends WorkerTask = WorkerTask> {
  readonly schema: z.ZodType<T>;
  run(task: T, attempt: number, ctx: UseCaseContext): Promise<WorkerResult>;
}
