import { z } from "zod";

/** Who a dataset job is about (ids with defaults applied). */
const identity = z.object({ roleId: z.string(), roiId: z.string(), modelKey: z.string(), recipeId: z.string() });
const fileRef = z.object({ label: z.enum(["ok", "ng"]), filename: z.string() });

/**
 * What a worker invocation is asked to do: one chunk of a fan-out. The worker writes its
 * partial result to S3 under the job and returns a summary. Validated on arrival: a worker is
 * invoked directly (not through API Gateway), but only by this service's coordinators.
 */
export const workerTask = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("embed"),
    jobId: z.string(),
    chunk: z.number().int().nonnegative(),
    identity,
    files: z.array(fileRef),
    coreset: z.object({ rate: z.number(), oversample: z.number(), keepAll: z.boolean(), seed: z.number() }),
  }),
  z.object({
    kind: z.literal("score"),
    jobId: z.string(),
    chunk: z.number().int().nonnegative(),
    identity,
    files: z.array(fileRef),
    includeHeatmap: z.boolean(),
    defaultMmPerPx: z.number().nullable(),
  }),
]);
export type WorkerTask = z.infer<typeof workerTask>;
export type EmbedTask = Extract<WorkerTask, { kind: "embed" }>;
export type ScoreTask = Extract<WorkerTask, { kind: "score" }>;

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
