import { z } from "zod";
import type { Timings } from "../util/timings";
import type { BlobStore } from "./blobStore";
import { jsonArtefact, parseJsonArtefact } from "./jsonArtefact";
import { recipeMetaKey } from "./keys";

/** What is stored per recipe: its settings and its mm_per_px lock (the old backend's recipe meta). */
const recipeMeta = z.looseObject({
  mm_per_px: z.number().positive().nullable().optional(),
  created_at_utc: z.string().optional(),
  mm_per_px_locked_at: z.string().nullable().optional(),
  area_rule: z.enum(["pixels", "contour"]).nullable().optional(),
  updated_at_utc: z.string().optional(),
});
export type RecipeMeta = z.infer<typeof recipeMeta>;

/** Recipe settings and locks, validated when read. */
export class RecipeRepository {
  constructor(
    private readonly store: BlobStore,
    private readonly prefix: string,
  ) {}

  key(recipeId: string): string {
    return recipeMetaKey(this.prefix, recipeId);
  }

  async etag(recipeId: string, timings: Timings): Promise<string | null> {
    return (await timings.time("s3_head", () => this.store.head(this.key(recipeId))))?.etag ?? null;
  }

  async load(recipeId: string, timings: Timings): Promise<{ meta: RecipeMeta; etag: string } | null> {
    const key = this.key(recipeId);
    const object = await timings.time("s3_get", () => this.store.get(key));
    if (!object) return null;
    return { meta: parseJsonArtefact(key, object, recipeMeta, "stored recipe settings"), etag: object.etag };
  }

  async save(recipeId: string, meta: RecipeMeta, timings: Timings, condition: { ifMatch?: string; ifNoneMatch?: "*" } = {}): Promise<void> {
    const { body, options } = jsonArtefact(meta, condition, true);
    await timings.time("s3_put", () => this.store.put(this.key(recipeId), body, options));
  }
}
