import { z } from "zod";

/** A model's identity as a job's command or a worker task carries it (ids with their defaults applied: lib/store/keys.ts's ModelIdentity). */
export const modelIdentityTask = z.object({ roleId: z.string(), roiId: z.string(), modelKey: z.string(), recipeId: z.string() });
