import { z } from "zod";
import { optionalIdField } from "./fields";

const areaRule = z.enum(["pixels", "contour"], { error: (issue) => `area_rule must be "pixels" or "contour", got ${JSON.stringify(issue.input)}` }).meta({
  description:
    'How a region\'s area_px is measured (and so which regions area_mm2_thr drops): "pixels" counts its pixels (the true area, the default); "contour" is the old backend\'s measure, the area of the polygon through the outer contour\'s pixel centres (OpenCV contourArea: a 3x3 block is 4 px², not 9).',
});

const recipeId = optionalIdField("recipe_id", 'The recipe; defaults to the X-Recipe-Id header, else "default".');

export const getRecipeSettingsRequest = z.object({ recipe_id: recipeId }).meta({ id: "GetRecipeSettingsRequest" });
export type GetRecipeSettingsRequest = z.output<typeof getRecipeSettingsRequest>;

export const putRecipeSettingsRequest = z
  .object(
    {
      recipe_id: recipeId,
      area_rule: areaRule.nullish().meta({ description: "Set the recipe's area rule; null = back to the service default (AREA_RULE)." }),
      unlock_mm_per_px: z
        .boolean({ error: "unlock_mm_per_px must be true or false" })
        .optional()
        .meta({ description: "true clears the recipe's mm_per_px lock: the next fit, upload or inference with a mm_per_px sets it again." }),
    },
    { error: () => "The body must be a JSON object" },
  )
  .meta({
    id: "PutRecipeSettingsRequest",
    examples: [
      { recipe_id: "line-7", area_rule: "contour" },
      { recipe_id: "line-7", unlock_mm_per_px: true },
    ],
  });
export type PutRecipeSettingsRequest = z.output<typeof putRecipeSettingsRequest>;

export const recipeSettingsResponse = z
  .object({
    recipe_id: z.string(),
    area_rule: areaRule,
    area_rule_source: z.enum(["recipe", "service default"]).meta({ description: "Whether the recipe sets the rule or the service's AREA_RULE applies." }),
    mm_per_px: z
      .number()
      .nullable()
      .meta({ description: "The recipe's locked mm_per_px (the first one given by a fit, an inference or an upload); null = not locked yet." }),
    mm_per_px_locked_at: z.string().nullable(),
    request_id: z.string(),
  })
  .meta({
    id: "RecipeSettingsResponse",
    examples: [
      {
        recipe_id: "line-7",
        area_rule: "contour",
        area_rule_source: "recipe",
        mm_per_px: null,
        mm_per_px_locked_at: null,
        request_id: "49207191-e066-40d1-8533-ee498f3fe8b6",
      },
    ],
  });
export type RecipeSettingsResponse = z.infer<typeof recipeSettingsResponse>;

export { areaRule as areaRuleSchema };
