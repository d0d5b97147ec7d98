import type { UseCaseContext } from "../../context";
import { ConflictError, UnavailableError } from "../../errors";
import { PreconditionFailed } from "../../store/blobStore";
import type { RecipeMeta } from "../../store/recipeRepository";
import type { Services } from "../services";
import { loadRecipeMeta } from "./settings";

/** Two mm_per_px are the same lock when they differ by at most this, relative (the old backend's MM_PER_PX_EPS). */
export const MM_PER_PX_TOLERANCE = 1e-6;

function sameScale(a: number, b: number): boolean {
  return Math.abs(a - b) <= MM_PER_PX_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));
}

function lockConflict(recipeId: string, mmPerPx: number, meta: RecipeMeta): ConflictError {
  return new ConflictError(
    `mm_per_px ${mmPerPx} differs from ${meta.mm_per_px}, the value locked for recipe ${JSON.stringify(recipeId)} since ${meta.mm_per_px_locked_at ?? meta.created_at_utc ?? "its first use"}: ` +
      `send ${meta.mm_per_px}, use another recipe_id, or clear the lock with PUT /recipe_settings {"recipe_id": ${JSON.stringify(recipeId)}, "unlock_mm_per_px": true}`,
  );
}

/**
 * The lock as this container last saw it, without writing: true when `mmPerPx` matches it, false
 * when there is none yet; a 409 when it differs. Lets a request fail early, before its work.
 */
export async function checkMmPerPx(services: Services, recipeId: string, mmPerPx: number, ctx: UseCaseContext): Promise<boolean> {
  const meta = await loadRecipeMeta(services, recipeId, ctx);
  if (typeof meta.mm_per_px !== "number") return false;
  if (sameScale(meta.mm_per_px, mmPerPx)) return true;
  throw lockConflict(recipeId, mmPerPx, meta);
}

/**
 * The per-recipe mm_per_px lock (the old backend's rule): the first mm_per_px given for a recipe
 * (by a fit, an inference or an upload's meta) is stored and fixes it; a later one that differs
 * beyond MM_PER_PX_TOLERANCE is a 409 naming both. Stored in the recipe's settings object with a
 * conditional write, so two first values at once cannot both win; cleared with
 * PUT /recipe_settings {"unlock_mm_per_px": true}. A matching cached lock costs no S3 call.
 */
export async function ensureMmPerPx(services: Services, recipeId: string, mmPerPx: number, ctx: UseCaseContext): Promise<void> {
  if (await checkMmPerPx(services, recipeId, mmPerPx, ctx)) return;
  for (let attempt = 1; attempt <= 8; attempt++) {
    const stored = await services.recipes.load(recipeId, ctx.timings);
    const locked = stored?.meta.mm_per_px;
    if (typeof locked === "number") {
      if (sameScale(locked, mmPerPx)) return;
      throw lockConflict(recipeId, mmPerPx, stored!.meta);
    }
    const now = new Date().toISOString();
    const meta: RecipeMeta = { ...stored?.meta, mm_per_px: mmPerPx, mm_per_px_locked_at: now, created_at_utc: stored?.meta.created_at_utc ?? now };
    try {
      await services.recipes.save(recipeId, meta, ctx.timings, stored ? { ifMatch: stored.etag } : { ifNoneMatch: "*" });
      ctx.log.info("mm_per_px locked for the recipe", { recipe_id: recipeId, mm_per_px: mmPerPx });
      return;
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) throw error;
    }
  }
  throw new UnavailableError(`The settings of recipe ${JSON.stringify(recipeId)} are being changed by many requests at once; try again`);
}
