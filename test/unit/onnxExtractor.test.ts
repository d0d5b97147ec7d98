import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { embedImages } from "../../lib/features/embed";
import { ModelCardError } from "../../lib/features/modelCard";
import * as ort from "onnxruntime-node";
import { copyOutputInto, OnnxFeatureExtractor } from "../../lib/features/onnxExtractor";
import { brushedMetal } from "../../scripts/synthetic/images";
import { buildTextureModel, DEFAULT_TEXTURE_OPTIONS } from "../../scripts/models/textureModel";
import { PROJECT_ROOT } from "../helpers/testStack";

const modelDir = path.join(PROJECT_ROOT, "layers/runtime/models");
const vitOnnx = path.join(modelDir, "vit-s14-shape.onnx");
const vitCard = path.join(modelDir, "vit-s14-shape.card.json");
const textureOnnx = path.join(modelDir, "texture-s14.onnx");
const textureCard = path.join(modelDir, "texture-s14.card.json");

describe("ONNX extractor on the ViT-S/14-shaped model (blocks 9-11, CLS dropped)", () => {
  it.each([
    [448, 32],
    [224, 16],
    [518, 37],
  ])(
    "input %i -> a %i-token-square grid of 1152-d",
    async (size, grid) => {
      const extractor = await OnnxFeatureExtractor.load({ onnxPath: vitOnnx, cardPath: vitCard, inputSize: size, threads: 2 });
      const [embedded] = await embedImages(extractor, [brushedMetal(size, size, 1)]);
      expect(embedded!.grid).toMatchObject({ h: grid, w: grid, dim: 1152 });
      expect(embedded!.grid.embeddings.length).toBe(grid * grid * 1152);
      expect(embedded!.grid.embeddings.every(Number.isFinite)).toBe(true);
      await extractor.release();
    },
    30_000,
  );

  it("gives the same embeddings for a batch as for images one by one", async () => {
    const extractor = await OnnxFeatureExtractor.load({ onnxPath: vitOnnx, cardPath: vitCard, inputSize: 224, threads: 2 });
    const images = [brushedMetal(300, 200, 1), brushedMetal(224, 224, 2), brushedMetal(150, 260, 3)];
    const single = await embedImages(extractor, images, { batchSize: 1 });
    const batched = await embedImages(extractor, images, { batchSize: 3 });
    for (let i = 0; i < images.length; i++) {
      const a = single[i]!.grid.embeddings;
      const b = batched[i]!.grid.embeddings;
      let maxDiff = 0;
      for (let j = 0; j < a.length; j++) maxDiff = Math.max(maxDiff, Math.abs(a[j]! - b[j]!));
      expect(maxDiff).toBeLessThan(1e-4);
      expect(batched[i]!.geometry).toEqual(single[i]!.geometry);
    }
    // and the images really differ: the batch did not repeat one of them
    expect(batched[0]!.grid.embeddings).not.toEqual(batched[1]!.grid.embeddings);
    await extractor.release();
  }, 30_000);
});

describe("model card validated against the graph at load", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "cards-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function loadWith(edit: (card: Record<string, any>) => void, inputSize = 448, base = textureCard, onnx = textureOnnx) {
    const card = JSON.parse(await readFile(base, "utf8"));
    edit(card);
    const cardPath = path.join(dir, `card-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(cardPath, JSON.stringify(card));
    return OnnxFeatureExtractor.load({ onnxPath: onnx, cardPath, inputSize, threads: 1 });
  }

  it.each<[string, (card: Record<string, any>) => void, RegExp]>([
    ["an input name the graph lacks", (c) => (c.input.name = "images"), /input "images" is not in the graph \(graph inputs: pixel_values\)/],
    ["an output name the graph lacks", (c) => (c.outputs[0].name = "features"), /output "features" is not in the graph/],
    ["a wrong layout", (c) => Object.assign(c.outputs[0], { layout: "tokens", prefixTokens: 1 }), /has rank 4, layout "tokens" needs 3/],
    ["a wrong embedding dim", (c) => Object.assign(c, { embeddingDim: 100, outputs: [{ ...c.outputs[0], dim: 100 }] }), /has dim 108, the card says 100/],
    ["dims that do not add up", (c) => (c.embeddingDim = 109), /"embeddingDim" is 109 but the outputs' dims add up to 108/],
    ["a missing field", (c) => delete c.input.patchSize, /"patchSize" must be a positive integer/],
    ["a non-positive std", (c) => (c.input.std = [1, 0, 1]), /"std" must be positive/],
  ])("rejects a card with %s", async (_name, edit, message) => {
    const error = await loadWith(edit).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelCardError);
    expect((error as Error).message).toMatch(message);
  });

  it("rejects an input size that is not a multiple of the patch size", async () => {
    await expect(loadWith(() => undefined, 450)).rejects.toThrow(/input size 450 is not a multiple of the patch size 14/);
  });

  it("rejects another input size when the card says the model is fixed-size", async () => {
    await expect(loadWith((c) => (c.input.dynamicSize = false), 224)).rejects.toThrow(/takes only 448 px inputs/);
  });

  it("rejects a missing model file and an unreadable card with the path in the message", async () => {
    await expect(OnnxFeatureExtractor.load({ onnxPath: path.join(dir, "none.onnx"), cardPath: textureCard, inputSize: 448, threads: 1 })).rejects.toThrow(
      /none\.onnx: the ONNX model cannot be loaded/,
    );
    await expect(OnnxFeatureExtractor.load({ onnxPath: textureOnnx, cardPath: path.join(dir, "none.json"), inputSize: 448, threads: 1 })).rejects.toThrow(
      /none\.json: cannot be read/,
    );
  });

  it("rejects a card from another model (the ViT card on the texture graph)", async () => {
    await expect(loadWith(() => undefined, 448, vitCard, textureOnnx)).rejects.toThrow(/output "block9" is not in the graph/);
  });
});

describe("the graph's batch axis", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "batch-axis-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The texture model with its batch axis fixed at `batch`, as some exporters write it. */
  async function textureWithBatch(batch: number): Promise<{ onnxPath: string; cardPath: string }> {
    const { onnx, card } = buildTextureModel({ ...DEFAULT_TEXTURE_OPTIONS, batchAxis: batch });
    const onnxPath = path.join(dir, `texture-batch${batch}.onnx`);
    const cardPath = path.join(dir, `texture-batch${batch}.card.json`);
    await writeFile(onnxPath, onnx);
    await writeFile(cardPath, JSON.stringify(card));
    return { onnxPath, cardPath };
  }

  it("a graph that takes only batches of 1 runs a fit's batch one image at a time, with the dynamic graph's embeddings", async () => {
    const fixed = await OnnxFeatureExtractor.load({ ...(await textureWithBatch(1)), inputSize: 224, threads: 1 });
    const dynamic = await OnnxFeatureExtractor.load({ onnxPath: textureOnnx, cardPath: textureCard, inputSize: 224, threads: 1 });
    expect(fixed.maxBatch).toBe(1);
    expect(dynamic.maxBatch).toBe(Number.POSITIVE_INFINITY);
    const images = [brushedMetal(300, 200, 1), brushedMetal(224, 224, 2), brushedMetal(150, 260, 3)];
    const one = await embedImages(fixed, images, { batchSize: 4 }); // FIT_BATCH_SIZE's default
    const all = await embedImages(dynamic, images, { batchSize: 4 });
    expect(one.map((e) => e.grid.embeddings)).toEqual(all.map((e) => e.grid.embeddings));
    expect(one[0]!.grid.embeddings).not.toEqual(one[1]!.grid.embeddings);
    await fixed.release();
    await dynamic.release();
  }, 30_000);

  it("rejects at load a graph whose batch axis is fixed at another size, naming the axis", async () => {
    await expect(OnnxFeatureExtractor.load({ ...(await textureWithBatch(2)), inputSize: 224, threads: 1 })).rejects.toThrow(
      /input "pixel_values" has its batch axis \(axis 0\) fixed at 2/,
    );
  });
});

describe("copyOutputInto: model outputs to patch rows [h*w, D]", () => {
  // value = 1000*image + 100*token-or-channel + 10*... encodes where each number came from
  const grid = { h: 2, w: 2 };

  it("tokens layout: drops the prefix (CLS + registers) and keeps patch order", () => {
    const prefix = 2;
    const dim = 3;
    const data = new Float32Array(2 * (prefix + 4) * dim);
    for (let i = 0; i < 2; i++)
      for (let t = 0; t < prefix + 4; t++) for (let d = 0; d < dim; d++) data[(i * (prefix + 4) + t) * dim + d] = 1000 * i + 100 * t + d;
    const output = new ort.Tensor("float32", data, [2, prefix + 4, dim]);
    const target = new Float32Array(4 * 5); // D = 5: this output fills columns 1..3
    copyOutputInto(output, { name: "o", layout: "tokens", prefixTokens: prefix, dim }, 1, grid, target, 5, 1);
    expect(Array.from(target)).toEqual([0, 1200, 1201, 1202, 0, 0, 1300, 1301, 1302, 0, 0, 1400, 1401, 1402, 0, 0, 1500, 1501, 1502, 0]);
  });

  it("nchw layout: transposes channels to patch rows", () => {
    const dim = 2;
    const data = new Float32Array(2 * dim * 4);
    for (let i = 0; i < 2; i++) for (let c = 0; c < dim; c++) for (let p = 0; p < 4; p++) data[(i * dim + c) * 4 + p] = 1000 * i + 100 * c + p;
    const output = new ort.Tensor("float32", data, [2, dim, 2, 2]);
    const target = new Float32Array(4 * dim);
    copyOutputInto(output, { name: "o", layout: "nchw", prefixTokens: 0, dim }, 1, grid, target, dim, 0);
    expect(Array.from(target)).toEqual([1000, 1100, 1001, 1101, 1002, 1102, 1003, 1103]);
  });

  it("rejects a token count that does not match the grid", () => {
    const output = new ort.Tensor("float32", new Float32Array(1 * 6 * 3), [1, 6, 3]);
    expect(() => copyOutputInto(output, { name: "o", layout: "tokens", prefixTokens: 1, dim: 3 }, 0, grid, new Float32Array(12), 3, 0)).toThrow(
      /6 tokens, expected 1 prefix \+ 2x2 patches/,
    );
  });
});
