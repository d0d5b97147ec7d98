import type { GetRecipeSettingsRequest, PutRecipeSettingsRequest } from "../contract/recipeSettings";
import type { ResultOf, Routes } from "../contract/routes";
import { ConflictError, UnavailableError } from "../errors";
import type { AreaRule } from "../patchcore/regions";
import { PreconditionFailed } from "../store/blobStore";
import { modelIdentity } from "../store/keys";
import type { RecipeMeta } from "../store/recipeRepository";
import type { UseCaseContext } from "./context";
import type { Services } from "./services";

export type RecipeSettingsResult = ResultOf<Routes["getRecipeSettings"]>;

/** The recipe's stored settings through the container cache ({} when it has none). */
export async function loadRecipeMeta(services: Services, recipeId: string, ctx: UseCaseContext): Promise<RecipeMeta> {
  const { recipes, recipeCache } = services;
  const { value } = await recipeCache.get(recipes.key(recipeId), {
    etag: () => recipes.etag(recipeId, ctx.timings),
    load: async () => {
      const stored = await recipes.load(recipeId, ctx.timings);
      return stored ? { value: stored.meta, etag: stored.etag, bytes: 1024 } : null;
    },
  });
  return value ?? {};
}

/** The area rule that applies to a recipe: its own, else the service's AREA_RULE. */
export function areaRuleOf(services: Services, meta: RecipeMeta): AreaRule {
  return meta.area_rule ?? services.config.patchcore.areaRule;
}

function settingsOf(services: Services, recipeId: string, meta: RecipeMeta): RecipeSettingsResult {
  return {
    recipe_id: recipeId,
    area_rule: areaRuleOf(services, meta),
    area_rule_source: meta.area_rule ? "recipe" : "service default",
    mm_per_px: meta.mm_per_px ?? null,
    mm_per_px_locked_at: meta.mm_per_px === undefined || meta.mm_per_px === null ? null : (meta.mm_per_px_locked_at ?? meta.created_at_utc ?? null),
  };
}

/** A recipe id with its default applied and checked as every id is. */
function recipeIdOf(given: string | undefined): string {
  return modelIdentity("-", "-", undefined, given).recipeId;
}

export async function getRecipeSettings(services: Services, input: GetRecipeSettingsRequest, ctx: UseCaseContext): Promise<RecipeSettingsResult> {
  const recipeId = recipeIdOf(input.recipe_id);
  const stored = await services.recipes.load(recipeId, ctx.timings);
  return settingsOf(services, recipeId, stored?.meta ?? {});
}

/**
 * Changes a recipe's settings: its area rule (null = the service default), and clearing its
 * mm_per_px lock. Read-modify-write of one small object: two changes at once, the last wins.
 */
export async function putRecipeSettings(services: Services, input: PutRecipeSettingsRequest, ctx: UseCaseContext): Promise<RecipeSettingsResult> {
  const recipeId = recipeIdOf(input.recipe_id);
  for (let attempt = 1; attempt <= 8; attempt++) {
    const stored = await services.recipes.load(recipeId, ctx.timings);
    const meta: RecipeMeta = { ...stored?.meta };
    if (input.area_rule !== undefined) meta.area_rule = input.area_rule;
    if (input.unlock_mm_per_px) {
      meta.mm_per_px = null;
      meta.mm_per_px_locked_at = null;
    }
    meta.updated_at_utc = new Date().toISOString();
    try {
      await services.recipes.save(recipeId, meta, ctx.timings, stored ? { ifMatch: stored.etag } : { ifNoneMatch: "*" });
    } catch (error) {
      if (error instanceof PreconditionFailed) continue; // changed meanwhile (e.g. a lock set): apply the change to the new state
      throw error;
    }
    ctx.log.info("recipe settings changed", { recipe_id: recipeId, area_rule: meta.area_rule ?? null, unlocked: Boolean(input.unlock_mm_per_px) });
    return settingsOf(services, recipeId, meta);
  }
  throw new UnavailableError(`The settings of recipe ${JSON.stringify(recipeId)} are being changed by many requests at once; try again`);
}

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
