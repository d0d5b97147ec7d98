import * as ort from "onnxruntime-node";
import type { ResultOf, Routes } from "../../contract/routes";
import type { UseCaseContext } from "../../context";
import type { Services } from "../services";

/** The model actually loaded (loading it if needed), the package version, the runtime. */
export async function health(services: Services, ctx: UseCaseContext): Promise<ResultOf<Routes["health"]>> {
  const extractor = await ctx.timings.time("model_load", () => services.extractor());
  return {
    status: "ok",
    device: "cpu",
    model: extractor.card.id,
    version: services.config.version,
    runtime: `onnxruntime-node ${ort.env.versions.node}`,
    input_size: extractor.inputSize,
    patch_size: extractor.card.input.patchSize,
    embedding_dim: extractor.card.embeddingDim,
    model_source: extractor.card.source,
  };
}
