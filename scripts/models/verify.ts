/**
 * `npm run models:verify -- NAME [--dir DIR]`: loads NAME.onnx through the service's own path
 * (card parsed, card checked against the graph, outputs sliced and concatenated by the card),
 * runs the exporter's deterministic reference input and compares with the PyTorch values the
 * exporter recorded in NAME.reference.json. Exits non-zero on a mismatch.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { flag, positional } from "../util/cli";
import { referenceInput, type ModelReference } from "./referenceInput";

export interface VerifyResult {
  readonly modelId: string;
  readonly maxAbsDiff: number;
  readonly maxAbsValue: number;
  readonly minCosine: number;
  readonly grid: { h: number; w: number; dim: number };
}

export async function verifyAgainstReference(dir: string, name: string, threads = 0): Promise<VerifyResult> {
  const reference = JSON.parse(await readFile(path.join(dir, `${name}.reference.json`), "utf8")) as ModelReference;
  const extractor = await OnnxFeatureExtractor.load({
    onnxPath: path.join(dir, `${name}.onnx`),
    cardPath: path.join(dir, `${name}.card.json`),
    inputSize: reference.inputSize,
    threads,
  });
  try {
    const grids = await extractor.extract(referenceInput(reference.batch, reference.inputSize), reference.batch);
    let maxAbsDiff = 0;
    let maxAbsValue = 0;
    let minCosine = 1;
    grids.forEach((grid, b) => {
      reference.rows.forEach((row, k) => {
        const expected = reference.values[b]![k]!;
        if (expected.length !== grid.dim) throw new Error(`reference row has ${expected.length} values, the model gives ${grid.dim}`);
        const got = grid.embeddings.subarray(row * grid.dim, (row + 1) * grid.dim);
        let dot = 0;
        let ng = 0;
        let ne = 0;
        for (let d = 0; d < grid.dim; d++) {
          maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[d]! - expected[d]!));
          maxAbsValue = Math.max(maxAbsValue, Math.abs(expected[d]!));
          dot += got[d]! * expected[d]!;
          ng += got[d]! ** 2;
          ne += expected[d]! ** 2;
        }
        minCosine = Math.min(minCosine, dot / Math.sqrt(ng * ne || 1));
      });
    });
    const { h, w, dim } = grids[0]!;
    return { modelId: extractor.card.id, maxAbsDiff, maxAbsValue, minCosine, grid: { h, w, dim } };
  } finally {
    await extractor.release();
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const dir = path.resolve(flag(args, "--dir") ?? process.env.MODEL_DIR ?? "layers/runtime/models");
  const name = positional(args, ["--dir"]);
  if (!name) {
    console.error("usage: npm run models:verify -- NAME [--dir DIR]");
    process.exit(2);
  }
  verifyAgainstReference(dir, name)
    .then((r) => {
      const ok = r.maxAbsDiff <= 1e-3 * Math.max(1, r.maxAbsValue) && r.minCosine > 0.9999;
      console.log(
        `${name} (${r.modelId}): grid ${r.grid.h}x${r.grid.w}x${r.grid.dim}; vs PyTorch max |diff| ${r.maxAbsDiff.toExponential(2)} ` +
          `(max |value| ${r.maxAbsValue.toFixed(3)}), min cosine ${r.minCosine.toFixed(6)}: ${ok ? "OK" : "MISMATCH"}`,
      );
      process.exit(ok ? 0 : 1);
    })
    .catch((error: unknown) => {
      console.error(`${name}: ${(error as Error).message}`);
      process.exit(1);
    });
}
