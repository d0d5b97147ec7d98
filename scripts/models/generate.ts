/**
 * Writes the models this project generates itself into layers/runtime/models/ (or MODEL_DIR):
 *   texture-s14      the small deterministic offline extractor (default for npm start and tests)
 *   vit-s14-shape    DINOv2 ViT-S/14 architecture with random weights (timings, loader tests)
 *   vit-s14-shape-int8  the same weights, MatMuls dynamically quantised to int8 (card precision "int8")
 * Each as `<name>.onnx` + `<name>.card.json`. A model whose card already names the current
 * version is left alone, so this runs in a few milliseconds when nothing changed.
 * Usage: tsx scripts/models/generate.ts [--force]
 */
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../../lib/util/atomicFile";
import type { ModelCard } from "../../lib/features/modelCard";
import { buildTextureModel, TEXTURE_MODEL_ID } from "./textureModel";
import { buildVitS14Int8Model, buildVitS14Model, VIT_INT8_MODEL_ID, VIT_MODEL_ID } from "./vitModel";

export const GENERATED_MODELS: readonly { name: string; id: string; build: () => { onnx: Uint8Array; card: ModelCard } }[] = [
  { name: "texture-s14", id: TEXTURE_MODEL_ID, build: () => buildTextureModel() },
  { name: "vit-s14-shape", id: VIT_MODEL_ID, build: () => buildVitS14Model() },
  { name: "vit-s14-shape-int8", id: VIT_INT8_MODEL_ID, build: () => buildVitS14Int8Model() },
];

async function currentId(cardPath: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(cardPath, "utf8")) as { id?: string }).id;
  } catch {
    return undefined;
  }
}

export async function generateModels(dir: string, force = false): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const model of GENERATED_MODELS) {
    const cardPath = path.join(dir, `${model.name}.card.json`);
    if (!force && (await currentId(cardPath)) === model.id) continue;
    const { onnx, card } = model.build();
    // The .onnx first, the card last: a card on disk means its model is complete.
    await writeFileAtomic(path.join(dir, `${model.name}.onnx`), onnx);
    await writeFileAtomic(cardPath, JSON.stringify(card, null, 2) + "\n");
    written.push(`${model.name} (${card.id}, ${(onnx.length / 1e6).toFixed(1)} MB)`);
  }
  return written;
}

if (require.main === module) {
  const dir = path.resolve(process.env.MODEL_DIR ?? "layers/runtime/models");
  generateModels(dir, process.argv.includes("--force"))
    .then((written) => {
      if (written.length > 0) console.log(`models: wrote ${written.join(", ")} to ${dir}`);
    })
    .catch((error: unknown) => {
      console.error("models: generation failed:", error);
      process.exit(1);
    });
}
