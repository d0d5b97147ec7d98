import { z } from "zod";

/** A model's identity as a job's command or a worker task carries it (ids with their defaults applied: lib/store/keys.ts's ModelIdentity). */
export const modelIdentityTask = z.object({ roleId: z.string(), roiId: z.string(), modelKey: z.string(), recipeId: z.string() });

/** What every worker task of this service carries: its job and chunk, the model, and the chunk's stored images. */
export const datasetChunkTask = z.object({
  jobId: z.string(),
  chunk: z.number().int().nonnegative(),
  identity: modelIdentityTask,
  files: z.array(z.object({ label: z.enum(["ok", "ng"]), filename: z.string() })),
});
