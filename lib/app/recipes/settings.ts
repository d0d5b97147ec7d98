import type { GetRecipeSettingsRequest, PutRecipeSettingsRequest } from "../../contract/recipeSettings";
import type { ResultOf, Routes } from "../../contract/routes";
import { UnavailableError } from "../../errors";
import type { AreaRule } from "../../patchcore/regions";
import { PreconditionFailed } from "../../store/blobStore";
import { modelIdentity } from "../../store/keys";
import type { RecipeMeta } from "../../store/recipeRepository";
import type { UseCaseContext } from "../../context";
import type { Services } from "../services";

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
