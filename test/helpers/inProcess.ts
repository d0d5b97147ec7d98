import path from "node:path";
import { decodeImage } from "../../lib/image/decode";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { inspect } from "../../lib/patchcore/pipeline";
import { ExactScorer } from "../../lib/patchcore/knn/exact";
import { decodeMemoryNpz } from "../../lib/store/npz";
import { PROJECT_ROOT } from "./testStack";

/**
 * The score the engine gives `image` with the memory in `npz`, computed in this process with
 * the service's defaults (texture-s14 at 448, blur sigma 1, 99th percentile, no shape): what an
 * /infer served from the stored file must equal.
 */
export async function scoreInProcess(npz: Uint8Array, image: Uint8Array, modelName = "texture-s14"): Promise<number> {
  const dir = path.join(PROJECT_ROOT, "layers/runtime/models");
  const extractor = await OnnxFeatureExtractor.load({
    onnxPath: path.join(dir, `${modelName}.onnx`),
    cardPath: path.join(dir, `${modelName}.card.json`),
    inputSize: 448,
    threads: 1,
  });
  try {
    const bank = decodeMemoryNpz(npz);
    const result = await inspect(extractor, new ExactScorer(bank, 1), bank, await decodeImage(image, 4096 * 4096, "image"), {
      threshold: null,
      mmPerPx: 0.2,
      areaMm2Threshold: 1,
      scorePercentile: 99,
      blurSigma: 1,
    });
    return result.score;
  } finally {
    await extractor.release();
  }
}
