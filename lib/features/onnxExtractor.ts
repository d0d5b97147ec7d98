import * as ort from "onnxruntime-node";
import { NO_SPINNING } from "../onnx/sessionOptions";
import type { FeatureExtractor, PatchGrid } from "./extractor";
import { ModelCardError, readModelCard, type ModelCard, type ModelOutput } from "./modelCard";

export interface OnnxExtractorOptions {
  readonly onnxPath: string;
  readonly cardPath: string;
  readonly inputSize: number;
  /** Intra-op threads; 0 = onnxruntime's default. */
  readonly threads: number;
  /** onnxruntime graph optimisation; "all" unless measuring (npm run bench compares them). */
  readonly graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
}

type Dims = readonly (number | string)[];

/**
 * Checks the card against the graph's declared inputs and outputs; throws ModelCardError naming
 * the mismatch. A batch axis fixed at 1 is accepted (the extractor then runs one image at a time).
 */
export function validateCardAgainstGraph(
  card: ModelCard,
  inputs: readonly ort.InferenceSession.ValueMetadata[],
  outputs: readonly ort.InferenceSession.ValueMetadata[],
  inputSize: number,
  where: string,
): void {
  const fail = (message: string): never => {
    throw new ModelCardError(where, message);
  };
  if (inputSize % card.input.patchSize !== 0) {
    fail(`input size ${inputSize} is not a multiple of the patch size ${card.input.patchSize}`);
  }
  if (!card.input.dynamicSize && inputSize !== card.input.size) {
    fail(`the model takes only ${card.input.size} px inputs (dynamicSize false), configured input size is ${inputSize}`);
  }
  const input = inputs.find((m) => m.name === card.input.name);
  if (!input) fail(`input "${card.input.name}" is not in the graph (graph inputs: ${inputs.map((m) => m.name).join(", ")})`);
  const inputDims = tensorDims(input!, where);
  if (input!.isTensor && input!.type !== "float32") fail(`input "${card.input.name}" is ${input!.type}, expected float32`);
  if (inputDims.length !== 4) fail(`input "${card.input.name}" has rank ${inputDims.length}, expected 4 (NCHW)`);
  if (typeof inputDims[0] === "number" && inputDims[0] !== 1) {
    fail(`input "${card.input.name}" has its batch axis (axis 0) fixed at ${inputDims[0]}: export it with a dynamic batch axis, or fixed at 1`);
  }
  if (typeof inputDims[1] === "number" && inputDims[1] !== 3) fail(`input "${card.input.name}" has ${inputDims[1]} channels, expected 3`);
  for (const axis of [2, 3]) {
    const d = inputDims[axis];
    if (typeof d === "number" && d !== inputSize) fail(`input "${card.input.name}" is fixed at ${d} px, configured input size is ${inputSize}`);
  }
  for (const expected of card.outputs) {
    const output = outputs.find((m) => m.name === expected.name);
    if (!output) fail(`output "${expected.name}" is not in the graph (graph outputs: ${outputs.map((m) => m.name).join(", ")})`);
    if (output!.isTensor && output!.type !== "float32") fail(`output "${expected.name}" is ${output!.type}, expected float32`);
    const dims = tensorDims(output!, where);
    const rank = expected.layout === "tokens" ? 3 : 4;
    if (dims.length !== rank) fail(`output "${expected.name}" has rank ${dims.length}, layout "${expected.layout}" needs ${rank}`);
    const dimAxis = expected.layout === "tokens" ? 2 : 1;
    const dim = dims[dimAxis];
    if (typeof dim === "number" && dim !== expected.dim) fail(`output "${expected.name}" has dim ${dim}, the card says ${expected.dim}`);
  }
}

function tensorDims(meta: ort.InferenceSession.ValueMetadata, where: string): Dims {
  if (!meta.isTensor) throw new ModelCardError(where, `"${meta.name}" is not a tensor`);
  return meta.shape;
}

/** Writes one image's output into columns [column, column + spec.dim) of target, Float32Array [h*w, targetDim]. */
export function copyOutputInto(
  output: ort.Tensor,
  spec: ModelOutput,
  image: number,
  grid: { h: number; w: number },
  target: Float32Array,
  targetDim: number,
  column: number,
): void {
  const data = output.data as Float32Array;
  const n = grid.h * grid.w;
  if (spec.layout === "tokens") {
    // [batch, prefix + n, dim]: patch token p of image i starts at ((i*(prefix+n)) + prefix + p) * dim
    const tokens = Number(output.dims[1]);
    if (tokens !== spec.prefixTokens + n) {
      throw new ModelCardError(spec.name, `output has ${tokens} tokens, expected ${spec.prefixTokens} prefix + ${grid.h}x${grid.w} patches`);
    }
    const start = (image * tokens + spec.prefixTokens) * spec.dim;
    for (let p = 0; p < n; p++) {
      target.set(data.subarray(start + p * spec.dim, start + (p + 1) * spec.dim), p * targetDim + column);
    }
  } else {
    // [batch, dim, h, w]: channel-major, transposed to patch-major
    if (Number(output.dims[2]) !== grid.h || Number(output.dims[3]) !== grid.w) {
      throw new ModelCardError(spec.name, `output grid ${output.dims[2]}x${output.dims[3]}, expected ${grid.h}x${grid.w}`);
    }
    const start = image * spec.dim * n;
    for (let c = 0; c < spec.dim; c++) {
      const plane = start + c * n;
      for (let p = 0; p < n; p++) target[p * targetDim + column + c] = data[plane + p]!;
    }
  }
}

/** Most images one run of the graph takes: 1 when its input's batch axis is fixed at 1, else unbounded. */
export function maxBatchOf(card: ModelCard, inputs: readonly ort.InferenceSession.ValueMetadata[]): number {
  const input = inputs.find((m) => m.name === card.input.name);
  return input?.isTensor && input.shape[0] === 1 ? 1 : Number.POSITIVE_INFINITY;
}

export class OnnxFeatureExtractor implements FeatureExtractor {
  private constructor(
    readonly card: ModelCard,
    readonly inputSize: number,
    private readonly session: ort.InferenceSession,
    /** Images per run of the graph (1 for a graph exported with a fixed batch of 1). */
    readonly maxBatch: number,
  ) {}

  static async load(options: OnnxExtractorOptions): Promise<OnnxFeatureExtractor> {
    const card = await readModelCard(options.cardPath);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(options.onnxPath, {
        intraOpNumThreads: options.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: options.graphOptimizationLevel ?? "all",
        executionMode: "sequential",
        extra: NO_SPINNING,
      });
    } catch (cause) {
      throw new ModelCardError(options.onnxPath, `the ONNX model cannot be loaded (${(cause as Error).message})`);
    }
    try {
      validateCardAgainstGraph(card, session.inputMetadata, session.outputMetadata, options.inputSize, options.cardPath);
    } catch (error) {
      await session.release();
      throw error;
    }
    return new OnnxFeatureExtractor(card, options.inputSize, session, maxBatchOf(card, session.inputMetadata));
  }

  async extract(pixels: Float32Array, count: number): Promise<PatchGrid[]> {
    const S = this.inputSize;
    const imageValues = 3 * S * S;
    if (pixels.length !== count * imageValues) {
      throw new RangeError(`pixels has ${pixels.length} values, expected ${count} x 3 x ${S} x ${S}`);
    }
    if (count <= this.maxBatch) return this.run(pixels, count);
    // The graph takes fewer images per run than asked (a batch axis fixed at 1): run them in turn.
    const grids: PatchGrid[] = [];
    for (let start = 0; start < count; start += this.maxBatch) {
      const n = Math.min(this.maxBatch, count - start);
      grids.push(...(await this.run(pixels.subarray(start * imageValues, (start + n) * imageValues), n)));
    }
    return grids;
  }

  private async run(pixels: Float32Array, count: number): Promise<PatchGrid[]> {
    const S = this.inputSize;
    const input = new ort.Tensor("float32", pixels, [count, 3, S, S]);
    const results = await this.session.run({ [this.card.input.name]: input });
    const patch = this.card.input.patchSize;
    const grid = { h: Math.floor(S / patch), w: Math.floor(S / patch) };
    const dim = this.card.embeddingDim;
    const grids: PatchGrid[] = [];
    for (let image = 0; image < count; image++) {
      const embeddings = new Float32Array(grid.h * grid.w * dim);
      let column = 0;
      for (const spec of this.card.outputs) {
        copyOutputInto(results[spec.name]!, spec, image, grid, embeddings, dim, column);
        column += spec.dim;
      }
      grids.push({ embeddings, h: grid.h, w: grid.w, dim });
    }
    for (const tensor of Object.values(results)) tensor.dispose();
    return grids;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
