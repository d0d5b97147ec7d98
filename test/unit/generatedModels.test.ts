import path from "node:path";
import { embedImages } from "../../lib/features/embed";
import { parseModelCard } from "../../lib/features/modelCard";
import { OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { referenceInput } from "../../scripts/models/referenceInput";
import { PROJECT_ROOT } from "../helpers/testStack";
import { brushedMetal, paintSpot } from "../../scripts/synthetic/images";

const modelDir = path.join(PROJECT_ROOT, "layers/runtime/models");
const load = (name: string, inputSize = 448) =>
  OnnxFeatureExtractor.load({
    onnxPath: path.join(modelDir, `${name}.onnx`),
    cardPath: path.join(modelDir, `${name}.card.json`),
    inputSize,
    threads: 2,
  });

/** Nearest-neighbour Euclidean distance of each row of `queries` to `memory`, both L2-normalised first. */
function nearestDistances(queries: Float32Array, memory: Float32Array, dim: number): Float64Array {
  const normalise = (a: Float32Array) => {
    const out = Float64Array.from(a);
    for (let r = 0; r < out.length / dim; r++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += out[r * dim + d]! ** 2;
      const inv = 1 / Math.sqrt(s || 1);
      for (let d = 0; d < dim; d++) out[r * dim + d]! *= inv;
    }
    return out;
  };
  const q = normalise(queries);
  const m = normalise(memory);
  const out = new Float64Array(q.length / dim);
  for (let i = 0; i < out.length; i++) {
    let best = Infinity;
    for (let j = 0; j < m.length / dim; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (q[i * dim + d]! - m[j * dim + d]!) ** 2;
      if (s < best) best = s;
    }
    out[i] = Math.sqrt(best);
  }
  return out;
}

describe("generated texture model (offline extractor)", () => {
  it("tells a patch with a painted spot from good texture", async () => {
    const extractor = await load("texture-s14");
    const good = [brushedMetal(224, 224, 1), brushedMetal(224, 224, 2)];
    const test = brushedMetal(224, 224, 3);
    // ROI 224 px -> input 448 px (x2): a 10-px spot at ROI (115, 59) -> input (230, 118) -> token (row 8, col 16)
    const defective = paintSpot(test, 115, 59, 5);
    const [a, b, t, d] = await embedImages(extractor, [...good, test, defective]);
    const dim = a!.grid.dim;
    const memory = new Float32Array(a!.grid.embeddings.length * 2);
    memory.set(a!.grid.embeddings);
    memory.set(b!.grid.embeddings, a!.grid.embeddings.length);

    const goodScores = nearestDistances(t!.grid.embeddings, memory, dim);
    const defectScores = nearestDistances(d!.grid.embeddings, memory, dim);
    const defectToken = 8 * 32 + 16;
    const worstGood = Math.max(...goodScores);
    expect(defectScores[defectToken]!).toBeGreaterThan(3 * worstGood);
    // the image's maximum is on the spot: the 20-input-px spot spans 3 token columns and the
    // model's 3x3 neighbourhood average spreads it, so within one token of its centre
    const argmax = defectScores.indexOf(Math.max(...defectScores));
    expect(Math.abs(Math.floor(argmax / 32) - 8)).toBeLessThanOrEqual(1);
    expect(Math.abs((argmax % 32) - 16)).toBeLessThanOrEqual(1);
    await extractor.release();
  });

  it("is deterministic", async () => {
    const extractor = await load("texture-s14");
    const image = brushedMetal(200, 120, 7);
    const [first] = await embedImages(extractor, [image]);
    const [second] = await embedImages(extractor, [image]);
    expect(second!.grid.embeddings).toEqual(first!.grid.embeddings);
    await extractor.release();
  });
});

describe("generated ViT-S/14-shaped model, int8 variant", () => {
  it("is the fp32 model with int8 MatMul weights: its own id, card precision int8, patch features within 1 % (cosine)", async () => {
    const fp32 = await load("vit-s14-shape");
    const int8 = await load("vit-s14-shape-int8");
    expect(fp32.card.precision).toBe("fp32");
    expect(int8.card.precision).toBe("int8");
    expect(int8.card.id).not.toBe(fp32.card.id);
    expect(int8.card.embeddingDim).toBe(fp32.card.embeddingDim);
    const pixels = referenceInput(1, 448);
    const [a] = await fp32.extract(pixels, 1);
    const [b] = await int8.extract(pixels, 1);
    const dim = a!.dim;
    let worst = 1;
    for (let p = 0; p < a!.h * a!.w; p++) {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let d = 0; d < dim; d++) {
        const x = a!.embeddings[p * dim + d]!;
        const y = b!.embeddings[p * dim + d]!;
        ab += x * y;
        aa += x * x;
        bb += y * y;
      }
      worst = Math.min(worst, ab / Math.sqrt(aa * bb));
    }
    expect(worst).toBeGreaterThan(0.99);
    expect(worst).toBeLessThan(1); // it is quantised
    await fp32.release();
    await int8.release();
  });

  it("card precision: absent means fp32, anything but fp32/int8 is refused", () => {
    const card = {
      id: "x",
      input: { name: "i", size: 28, dynamicSize: true, patchSize: 14, mean: [0, 0, 0], std: [1, 1, 1] },
      outputs: [{ name: "o", layout: "nchw", dim: 4 }],
      embeddingDim: 4,
    };
    expect(parseModelCard(card, "c").precision).toBe("fp32");
    expect(parseModelCard({ ...card, precision: "int8" }, "c").precision).toBe("int8");
    expect(() => parseModelCard({ ...card, precision: "fp16" }, "c")).toThrow(/"precision" must be one of "fp32", "int8"/);
  });
});
