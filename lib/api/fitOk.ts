import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { getExtractorOr503 } from "../features/runtime";
import type { JsonBody, RequestContext } from "../http/endpoint";
import { BadRequestError } from "../http/errors";
import { parseBoolText, parseMmPerPx } from "../http/fields";
import type { MultipartForm } from "../http/multipart";
import { decodeImage, type RgbImage } from "../image/decode";
import { fitFromImages } from "../patchcore/engine";
import { HnswScorer } from "../patchcore/knn/hnsw";
import { shouldBuildIndex } from "../patchcore/knn/select";
import { modelKeys } from "../store/keys";
import { identityJson, identityOfForm } from "./identity";
import { getRuntime } from "./runtime";

/**
 * POST /fit_ok: good images of one ROI -> PatchCore memory (coreset unless memory_fit) + HNSW
 * index -> S3. Everything is validated and computed before anything is written, so a rejected
 * or failed fit leaves the previous model as it was.
 */
export async function fitOk(event: APIGatewayProxyEvent, form: MultipartForm, ctx: RequestContext): Promise<JsonBody> {
  const { config, store, models } = getRuntime();
  const identity = identityOfForm(event, form);
  const mmPerPx = parseMmPerPx(form.requiredText("mm_per_px"));
  const keepAll = parseBoolText("memory_fit", form.text("memory_fit"), false);
  if (parseBoolText("use_dataset", form.text("use_dataset"), false)) {
    throw new BadRequestError("use_dataset=true needs the stored OK dataset, which this version does not have yet: upload the images in the images field");
  }
  const files = form.fileList("images");
  if (files.length === 0) throw new BadRequestError("No images: send 1 or more PNG/JPEG files in the images field");

  const images: RgbImage[] = [];
  for (const [i, file] of files.entries()) {
    images.push(await ctx.timings.time("decode", () => decodeImage(file.data, config.limits.maxImagePixels, `images[${i}] (${file.filename || "unnamed"})`)));
  }
  const extractor = await getExtractorOr503(config);
  const fitId = randomUUID();
  const { bank, stats } = await fitFromImages(
    extractor,
    images,
    {
      coresetRate: config.patchcore.coresetRate,
      keepAll,
      seed: config.patchcore.seed,
      threads: config.model.ortThreads,
      batchSize: config.patchcore.fitBatchSize,
      metadata: {
        fit_id: fitId,
        mm_per_px: mmPerPx,
        created_at: new Date().toISOString(),
        version: config.version,
        role_id: identity.roleId,
        roi_id: identity.roiId,
        model_key: identity.modelKey,
        recipe_id: identity.recipeId,
      },
    },
    ctx.timings,
  );
  const index = shouldBuildIndex(bank.count, config.knn.hnswMaxRows)
    ? await ctx.timings.time("index_build", () => HnswScorer.build(bank).serialise())
    : null;
  const keys = modelKeys(config.s3.prefix, identity);
  await store.saveFit(keys, bank, index, ctx.timings);
  models.invalidate(keys.memory);
  ctx.log.info("fitted", { ...identityJson(identity), fit_id: fitId, n_images: images.length, coreset_size: stats.coresetSize, index: index ? "hnsw" : "none" });
  return {
    n_embeddings: stats.nEmbeddings,
    coreset_size: stats.coresetSize,
    token_shape: [bank.tokenH, bank.tokenW],
    coreset_rate_requested: stats.rateRequested,
    coreset_rate_applied: stats.rateApplied,
    covering_radius: stats.coveringRadius,
    n_images: images.length,
    memory_fit: keepAll,
    model: extractor.card.id,
    fit_id: fitId,
    index: index ? "hnsw" : "none",
    ...identityJson(identity),
    timings_ms: ctx.timings.toJSON(),
  };
}
