/**
 * `npm run models:download -- [--int8] [--name NAME] [--url URL] [--sha256 HEX] [--dir DIR]`
 *
 * Downloads a published ONNX export of DINOv2 ViT-S/14 (Hugging Face's Dinov2Model layout:
 * input "pixel_values", output "last_hidden_state" [batch, 1 + h*w, 384], final norm, CLS first;
 * i.e. the LAST block only, 384-d, unlike the old backend's blocks 9-11) and writes it with its
 * model card into the models folder. The download is streamed to a temporary file, checked
 * (size, optional SHA-256, then loaded through the service's own card + loader path and run
 * once at the configured input size) and only then moved into place.
 * Needs the internet; run it where Hugging Face is reachable.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ModelCard, ModelPrecision } from "../../lib/features/modelCard";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { writeFileAtomic } from "../../lib/util/atomicFile";
import { flag } from "../util/cli";
import { referenceInput } from "./referenceInput";

/**
 * The published export's files. The int8 file (model_quantized.onnx, onnxruntime dynamic int8 as
 * Hugging Face's Optimum/transformers.js exports make it) is listed in the repository's onnx/
 * folder; neither file could be fetched from the offline development machine, so their URLs,
 * sizes and dynamic axes are unverified here (the download checks the axes before writing).
 */
export const PUBLISHED_DINOV2_SMALL = {
  repository: "onnx-community/dinov2-small",
  fp32: "https://huggingface.co/onnx-community/dinov2-small/resolve/main/onnx/model.onnx",
  int8: "https://huggingface.co/onnx-community/dinov2-small/resolve/main/onnx/model_quantized.onnx",
} as const;

export interface DownloadOptions {
  readonly url: string;
  readonly dir: string;
  readonly name: string;
  readonly modelId: string;
  /** What the card says of the weights ("int8" for the published model_quantized.onnx). */
  readonly precision?: ModelPrecision;
  readonly inputSize: number;
  readonly sha256?: string;
  readonly log?: (line: string) => void;
}

export function dinov2SmallCard(modelId: string, inputSize: number, url: string, precision: ModelPrecision = "fp32"): ModelCard {
  return {
    id: modelId,
    description: `DINOv2 ViT-S/14, last block (final-normed last_hidden_state), 384-d, at ${inputSize} px`,
    input: { name: "pixel_values", size: inputSize, dynamicSize: true, patchSize: 14, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    outputs: [{ name: "last_hidden_state", layout: "tokens", prefixTokens: 1, dim: 384 }],
    embeddingDim: 384,
    source: `downloaded from ${url}`,
    precision,
  };
}

export async function downloadModel(options: DownloadOptions): Promise<{ bytes: number; sha256: string; forwardMs: number }> {
  const log = options.log ?? ((line: string) => console.log(line));
  await mkdir(options.dir, { recursive: true });
  const onnxPath = path.join(options.dir, `${options.name}.onnx`);
  const cardPath = path.join(options.dir, `${options.name}.card.json`);
  const partial = `${onnxPath}.download`;
  const partialCard = `${cardPath}.download`;
  try {
    log(`downloading ${options.url}`);
    const response = await fetch(options.url, { redirect: "follow" });
    if (!response.ok || !response.body) throw new Error(`GET ${options.url}: HTTP ${response.status} ${response.statusText}`);
    const hash = createHash("sha256");
    const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
    await pipeline(
      body,
      async function* hashed(source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(partial),
    );
    const bytes = (await stat(partial)).size;
    const expectedLength = Number(response.headers.get("content-length") ?? NaN);
    if (Number.isFinite(expectedLength) && expectedLength !== bytes) throw new Error(`download truncated: ${bytes} of ${expectedLength} bytes`);
    const sha256 = hash.digest("hex");
    if (options.sha256 && options.sha256.toLowerCase() !== sha256) throw new Error(`SHA-256 mismatch: expected ${options.sha256}, got ${sha256}`);
    log(`downloaded ${(bytes / 1e6).toFixed(1)} MB, sha256 ${sha256}`);

    // Check it through the service's own path before it replaces anything.
    const card = dinov2SmallCard(options.modelId, options.inputSize, options.url, options.precision ?? "fp32");
    await writeFileAtomic(partialCard, JSON.stringify(card, null, 2) + "\n");
    const extractor = await OnnxFeatureExtractor.load({ onnxPath: partial, cardPath: partialCard, inputSize: options.inputSize, threads: 0 });
    const start = performance.now();
    const [grid] = await extractor.extract(referenceInput(1, options.inputSize), 1);
    const forwardMs = performance.now() - start;
    await extractor.release();
    if (!grid || !grid.embeddings.every(Number.isFinite)) throw new Error("the model's output has non-finite values");
    log(`checked: ${grid.h}x${grid.w} tokens of ${grid.dim}-d at ${options.inputSize} px, forward ${forwardMs.toFixed(0)} ms`);

    await rename(partial, onnxPath);
    await rename(partialCard, cardPath); // the card last: a card means its model is complete
    log(`wrote ${onnxPath} and ${cardPath}; use it with MODEL_NAME=${options.name}`);
    return { bytes, sha256, forwardMs };
  } finally {
    await rm(partial, { force: true });
    await rm(partialCard, { force: true });
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const int8 = args.includes("--int8");
  const url = flag(args, "--url") ?? (int8 ? PUBLISHED_DINOV2_SMALL.int8 : PUBLISHED_DINOV2_SMALL.fp32);
  const name = flag(args, "--name") ?? (int8 ? "dinov2-small-int8" : "dinov2-small");
  downloadModel({
    url,
    dir: path.resolve(flag(args, "--dir") ?? process.env.MODEL_DIR ?? "layers/runtime/models"),
    name,
    modelId: flag(args, "--id") ?? `${PUBLISHED_DINOV2_SMALL.repository}${int8 ? "-int8" : ""}`,
    precision: int8 ? "int8" : "fp32",
    inputSize: Number(flag(args, "--input-size") ?? process.env.INPUT_SIZE ?? 448),
    sha256: flag(args, "--sha256"),
  }).catch((error: unknown) => {
    console.error(`download failed, nothing written: ${(error as Error).message}`);
    process.exit(1);
  });
}
