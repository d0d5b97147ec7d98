import * as ort from "onnxruntime-node";
import { getConfig } from "../lib/config";
import { getExtractor } from "../lib/features/runtime";
import { endpoint } from "../lib/http/endpoint";
import { ServiceUnavailableError } from "../lib/http/errors";

/** GET /health: the model actually loaded, the package version, the runtime. */
export const handler = endpoint("health", async (_event, ctx) => {
  const config = getConfig();
  const extractor = await ctx.timings.time("model_load", () =>
    getExtractor(config).catch((cause: unknown) => {
      throw new ServiceUnavailableError(`Model ${config.model.name} could not be loaded; see the service logs`, { cause });
    }),
  );
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
