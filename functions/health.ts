import * as ort from "onnxruntime-node";
import { getConfig } from "../lib/config";
import { getExtractorOr503 } from "../lib/features/runtime";
import { endpoint } from "../lib/http/endpoint";

/** GET /health: the model actually loaded, the package version, the runtime. */
export const handler = endpoint("health", async (_event, ctx) => {
  const config = getConfig();
  const extractor = await ctx.timings.time("model_load", () => getExtractorOr503(config));
  return {
    status: "ok",
    device: "cpu",
    model: extractor.card.id,
    version: config.version,
    runtime: `onnxruntime-node ${ort.env.versions.node}`,
    input_size: extractor.inputSize,
    patch_size: extractor.card.input.patchSize,
    embedding_dim: extractor.card.embeddingDim,
    model_source: extractor.card.source,
  };
});
