import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { referenceInput } from "../models/referenceInput";
import { measure, ms, summarise } from "./stats";

export interface OrtSettingRow {
  model: string;
  threads: number;
  optimisation: string;
  forwardP50: number;
  forwardP95: number;
  sessionMs: number;
}

const LEVELS = ["disabled", "basic", "extended", "all"] as const;

/**
 * Forward time at 448 by graph optimisation level and threads for the ViT-shaped model, and at the
 * default level for every other model present (an exported DINOv2 and its -int8 variant, say).
 */
export async function benchOrtSettings(modelDir: string, runs: number): Promise<OrtSettingRow[]> {
  const others = readdirSync(modelDir)
    .filter((f) => f.endsWith(".card.json"))
    .map((f) => f.replace(/\.card\.json$/, ""))
    .filter((name) => name !== "texture-s14" && name !== "vit-s14-shape")
    .sort();
  const rows: OrtSettingRow[] = [];
  const pixels = referenceInput(1, 448);
  for (const model of ["vit-s14-shape", ...others]) {
    if (!existsSync(path.join(modelDir, `${model}.onnx`))) continue;
    for (const threads of [1, 2]) {
      for (const level of model === "vit-s14-shape" ? LEVELS : (["all"] as const)) {
        const started = performance.now();
        const extractor = await OnnxFeatureExtractor.load({
          onnxPath: path.join(modelDir, `${model}.onnx`),
          cardPath: path.join(modelDir, `${model}.card.json`),
          inputSize: 448,
          threads,
          graphOptimizationLevel: level,
        });
        const sessionMs = performance.now() - started;
        const s = summarise(await measure(Math.max(5, Math.floor(runs / 2)), 2, () => extractor.extract(pixels, 1)));
        rows.push({ model, threads, optimisation: level, forwardP50: s.p50, forwardP95: s.p95, sessionMs });
        await extractor.release();
      }
    }
  }
  return rows;
}

export function ortTable(rows: readonly OrtSettingRow[]): string {
  return [
    "### onnxruntime settings: one 448 px forward, ms",
    "",
    "| model | threads | graph optimisation | forward p50 / p95 | session create |",
    "|---|---:|---|---:|---:|",
    ...rows.map((r) => `| ${r.model} | ${r.threads} | ${r.optimisation} | ${ms(r.forwardP50)} / ${ms(r.forwardP95)} | ${ms(r.sessionMs)} |`),
  ].join("\n");
}
