import { readFile } from "node:fs/promises";

/**
 * The JSON card beside every `.onnx` model (`<name>.card.json`): what the graph expects and
 * what its outputs mean, so the extractor never guesses.
 */
export interface ModelCard {
  /** Model id reported by /health and in every /infer response. */
  readonly id: string;
  readonly description: string;
  readonly input: {
    readonly name: string;
    /** Input side in pixels the model was made for; the service's INPUT_SIZE may differ if `dynamicSize`. */
    readonly size: number;
    readonly dynamicSize: boolean;
    readonly patchSize: number;
    /** Per-channel RGB mean and std applied to pixel values in [0, 1]. */
    readonly mean: readonly [number, number, number];
    readonly std: readonly [number, number, number];
  };
  /** Outputs concatenated along the embedding axis, in this order. */
  readonly outputs: readonly ModelOutput[];
  /** Sum of the outputs' dims. */
  readonly embeddingDim: number;
  /** Where the weights came from (e.g. "generated: random weights", "timm vit_small_patch14_dinov2.lvd142m"). */
  readonly source: string;
  /**
   * Numeric precision of the weights: "fp32", or "int8" for a dynamically quantised model (int8
   * MatMul weights, activations quantised at run time; the outputs are float32 either way).
   * Absent in a card = "fp32".
   */
  readonly precision: ModelPrecision;
}

export const MODEL_PRECISIONS = ["fp32", "int8"] as const;
export type ModelPrecision = (typeof MODEL_PRECISIONS)[number];

export interface ModelOutput {
  readonly name: string;
  /**
   * "tokens": [batch, prefixTokens + h*w, dim] (ViT: CLS and register tokens first, then patches row-major).
   * "nchw": [batch, dim, h, w].
   */
  readonly layout: "tokens" | "nchw";
  /** CLS + register tokens before the patch tokens (tokens layout only). */
  readonly prefixTokens: number;
  readonly dim: number;
}

export class ModelCardError extends Error {
  constructor(where: string, message: string) {
    super(`Model card ${where}: ${message}`);
    this.name = "ModelCardError";
  }
}

type Json = Record<string, unknown>;

function field<T>(obj: Json, key: string, where: string, check: (v: unknown) => v is T, expected: string): T {
  const value = obj[key];
  if (!check(value)) throw new ModelCardError(where, `"${key}" must be ${expected}, got ${JSON.stringify(value)}`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isPositiveInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0;
const isNonNegativeInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isTriple = (v: unknown): v is [number, number, number] =>
  Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === "number" && Number.isFinite(x));
const isPrecision = (v: unknown): v is ModelPrecision => (MODEL_PRECISIONS as readonly unknown[]).includes(v);
const isLayout = (v: unknown): v is ModelOutput["layout"] => v === "tokens" || v === "nchw";

/** Validates parsed JSON as a ModelCard; `where` names the card in errors. */
export function parseModelCard(json: unknown, where: string): ModelCard {
  if (!isObject(json)) throw new ModelCardError(where, "must be a JSON object");
  const input = field(json, "input", where, isObject, "an object");
  const std = field(input, "std", where, isTriple, "3 numbers");
  if (std.some((s) => s <= 0)) throw new ModelCardError(where, `"std" must be positive, got ${JSON.stringify(std)}`);
  const rawOutputs = field(json, "outputs", where, (v): v is unknown[] => Array.isArray(v) && v.length > 0, "a non-empty array");
  const outputs = rawOutputs.map((raw, i): ModelOutput => {
    const at = `${where} outputs[${i}]`;
    if (!isObject(raw)) throw new ModelCardError(at, "must be an object");
    const layout = field(raw, "layout", at, isLayout, '"tokens" or "nchw"');
    return {
      name: field(raw, "name", at, isString, "a string"),
      layout,
      prefixTokens: layout === "tokens" ? field(raw, "prefixTokens", at, isNonNegativeInt, "an integer >= 0") : 0,
      dim: field(raw, "dim", at, isPositiveInt, "a positive integer"),
    };
  });
  const embeddingDim = field(json, "embeddingDim", where, isPositiveInt, "a positive integer");
  const sum = outputs.reduce((a, o) => a + o.dim, 0);
  if (sum !== embeddingDim) {
    throw new ModelCardError(where, `"embeddingDim" is ${embeddingDim} but the outputs' dims add up to ${sum}`);
  }
  const card: ModelCard = {
    id: field(json, "id", where, isString, "a string"),
    description: typeof json.description === "string" ? json.description : "",
    input: {
      name: field(input, "name", where, isString, "a string"),
      size: field(input, "size", where, isPositiveInt, "a positive integer"),
      dynamicSize: field(input, "dynamicSize", where, isBool, "a boolean"),
      patchSize: field(input, "patchSize", where, isPositiveInt, "a positive integer"),
      mean: field(input, "mean", where, isTriple, "3 numbers"),
      std,
    },
    outputs,
    embeddingDim,
    source: typeof json.source === "string" ? json.source : "unknown",
    precision:
      json.precision === undefined ? "fp32" : field(json, "precision", where, isPrecision, `one of ${MODEL_PRECISIONS.map((p) => `"${p}"`).join(", ")}`),
  };
  if (card.input.size % card.input.patchSize !== 0) {
    throw new ModelCardError(where, `input size ${card.input.size} is not a multiple of patch size ${card.input.patchSize}`);
  }
  return card;
}

export async function readModelCard(path: string): Promise<ModelCard> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new ModelCardError(path, `cannot be read (${(cause as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelCardError(path, `is not valid JSON (${(cause as Error).message})`);
  }
  return parseModelCard(json, path);
}
