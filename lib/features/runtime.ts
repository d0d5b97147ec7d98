import { getConfig, type Config } from "../config";
import { ServiceUnavailableError } from "../http/errors";
import { getLogger } from "../log";
import { OnnxFeatureExtractor } from "./onnxExtractor";

let extractor: Promise<OnnxFeatureExtractor> | undefined;

/**
 * The container's feature extractor: created on first use (one ONNX session per container),
 * reused by every later request. A failed load is not cached, so the next request retries.
 */
export function getExtractor(config: Config = getConfig()): Promise<OnnxFeatureExtractor> {
  if (!extractor) {
    const start = performance.now();
    extractor = OnnxFeatureExtractor.load({
      onnxPath: config.model.onnxPath,
      cardPath: config.model.cardPath,
      inputSize: config.model.inputSize,
      threads: config.model.ortThreads,
    }).then(
      (loaded) => {
        getLogger().info("model loaded", { model: loaded.card.id, path: config.model.onnxPath, load_ms: Math.round(performance.now() - start) });
        return loaded;
      },
      (error: unknown) => {
        extractor = undefined;
        throw error;
      },
    );
  }
  return extractor;
}

/** getExtractor() for a request: a model that cannot be loaded is a 503 whose details stay in the logs. */
export function getExtractorOr503(config: Config = getConfig()): Promise<OnnxFeatureExtractor> {
  return getExtractor(config).catch((cause: unknown) => {
    throw new ServiceUnavailableError(`Model ${config.model.name} could not be loaded; see the service logs`, { cause });
  });
}
