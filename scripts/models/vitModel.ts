import { GraphBuilder } from "../../lib/onnx/graphBuilder";
import type { ModelCard } from "../../lib/features/modelCard";
import { SeededRandom } from "../../lib/random";
import { quantizeMatMulWeights } from "./quantize";

/**
 * A model with exactly the architecture and cost of DINOv2 ViT-S/14 (timm
 * vit_small_patch14_dinov2): patch 14, width 384, 12 pre-norm blocks of 6-head attention and a
 * 1536-wide GELU MLP, LayerScale, a 37x37 positional grid interpolated bicubically to the input's
 * token grid, CLS token. Weights are random (seeded): it exists for honest timings and for
 * testing the loader path; its features mean nothing.
 *
 * Outputs: the tokens of blocks 9, 10 and 11 as the old backend chose them, each [batch, 1 + h*w,
 * 384] (CLS first), concatenated by the extractor to 1152-d; here after the final LayerNorm,
 * which the old backend did not apply (scripts/models/export_dinov2.py follows it: no final
 * norm); one LayerNorm per token is noise in the timing this model exists for.
 */
export const VIT_MODEL_ID = "vit-s14-shape-random-v1";
const WIDTH = 384;
const HEADS = 6;
const DEPTH = 12;
const MLP = 1536;
const PATCH = 14;
const POS_GRID = 37; // DINOv2 was trained at 518 px = 37 x 37 tokens
export const VIT_OUTPUT_BLOCKS = [9, 10, 11] as const;

/**
 * "blocks": outputs block9/10/11 as the old backend (1152-d).
 * "last_hidden_state": Hugging Face's Dinov2Model layout, as in the published ONNX exports:
 * "last_hidden_state" [batch, 1 + h*w, 384] (final norm, CLS first) and "pooler_output" [batch, 384].
 */
export type VitOutputLayout = "blocks" | "last_hidden_state";

export function buildVitS14Model(seed = 14, layout: VitOutputLayout = "blocks"): { onnx: Uint8Array; card: ModelCard } {
  const rng = new SeededRandom(seed);
  const b = new GraphBuilder("vit_small_patch14_shape");
  const param = (prefix: string, dims: number[], std: number, constant?: number) => {
    const data = new Float32Array(dims.reduce((a, d) => a * d, 1));
    if (constant !== undefined) data.fill(constant);
    else rng.fillNormal(data, std);
    return b.floats(prefix, dims, data);
  };

  const x = b.input("pixel_values", ["batch", 3, "height", "width"]);
  const patches = b.op("Conv", [x, param("patch_w", [WIDTH, 3, PATCH, PATCH], 0.02), param("patch_b", [WIDTH], 0, 0)], {
    kernel_shape: [PATCH, PATCH],
    strides: [PATCH, PATCH],
  });
  // Positional grid resized to the token grid [1, 384, h, w] (bicubic, as DINOv2's interpolate_pos_encoding).
  const patchShape = b.op("Shape", [patches]);
  const gridHW = b.op("Slice", [patchShape, b.int64s("s", [2]), b.int64s("e", [4])]);
  const posSizes = b.op("Concat", [b.int64s("one_width", [1, WIDTH]), gridHW], { axis: 0 });
  const posGrid = param("pos_grid", [1, WIDTH, POS_GRID, POS_GRID], 0.02);
  const pos = b.op("Resize", [posGrid, "", "", posSizes], {
    mode: "cubic",
    cubic_coeff_a: -0.75,
    coordinate_transformation_mode: "half_pixel",
  });
  const withPos = b.op("Add", [patches, pos]);
  const flat = b.op("Reshape", [withPos, b.int64s("shape", [0, WIDTH, -1])]);
  const tokens = b.op("Transpose", [flat], { perm: [0, 2, 1] }); // [B, N, 384]
  const batch = b.op("Slice", [patchShape, b.int64s("s", [0]), b.int64s("e", [1])]);
  const clsShape = b.op("Concat", [batch, b.int64s("one_width", [1, WIDTH])], { axis: 0 });
  const cls = b.op("Expand", [param("cls", [1, 1, WIDTH], 0.02), clsShape]);
  let h = b.op("Concat", [cls, tokens], { axis: 1 }); // [B, 1 + N, 384]

  const layerNorm = (v: string, scale: string, bias: string) => b.op("LayerNormalization", [v, scale, bias], { axis: -1, epsilon: 1e-6 });
  const linear = (v: string, inDim: number, outDim: number, name: string) =>
    b.op("Add", [b.op("MatMul", [v, param(`${name}_w`, [inDim, outDim], 0.02)]), param(`${name}_b`, [outDim], 0, 0)]);
  const normScale = param("norm_scale", [WIDTH], 0, 1);
  const normBias = param("norm_bias", [WIDTH], 0, 0);
  const headShape = b.int64s("qkv_shape", [0, 0, 3, HEADS, WIDTH / HEADS]);
  const mergeShape = b.int64s("merge_shape", [0, 0, WIDTH]);
  const attnScale = b.floats("attn_scale", [1], [1 / Math.sqrt(WIDTH / HEADS)]);
  const sqrtHalf = b.floats("sqrt_half", [1], [Math.SQRT1_2]);
  const half = b.floats("half", [1], [0.5]);
  const one = b.floats("one", [1], [1]);
  const index = [0, 1, 2].map((i) => b.int64s(`i${i}`, [i], []));

  const outputs: string[] = [];
  for (let block = 0; block < DEPTH; block++) {
    const n1 = layerNorm(h, param("ln1_s", [WIDTH], 0, 1), param("ln1_b", [WIDTH], 0, 0));
    const qkv = b.op("Transpose", [b.op("Reshape", [linear(n1, WIDTH, 3 * WIDTH, "qkv"), headShape])], { perm: [2, 0, 3, 1, 4] });
    const [q, k, v] = index.map((i) => b.op("Gather", [qkv, i], { axis: 0 })) as [string, string, string]; // [B, 6, T, 64]
    const scores = b.op("MatMul", [b.op("Mul", [q, attnScale]), b.op("Transpose", [k], { perm: [0, 1, 3, 2] })]);
    const attended = b.op("MatMul", [b.op("Softmax", [scores], { axis: -1 }), v]);
    const merged = b.op("Reshape", [b.op("Transpose", [attended], { perm: [0, 2, 1, 3] }), mergeShape]);
    const attnOut = b.op("Mul", [linear(merged, WIDTH, WIDTH, "proj"), param("ls1", [WIDTH], 0, 0.1)]);
    h = b.op("Add", [h, attnOut]);
    const n2 = layerNorm(h, param("ln2_s", [WIDTH], 0, 1), param("ln2_b", [WIDTH], 0, 0));
    const fc1 = linear(n2, WIDTH, MLP, "fc1");
    const gelu = b.op("Mul", [b.op("Mul", [fc1, half]), b.op("Add", [b.op("Erf", [b.op("Mul", [fc1, sqrtHalf])]), one])]);
    const mlpOut = b.op("Mul", [linear(gelu, MLP, WIDTH, "fc2"), param("ls2", [WIDTH], 0, 0.1)]);
    h = b.op("Add", [h, mlpOut]);
    if (layout === "blocks" && (VIT_OUTPUT_BLOCKS as readonly number[]).includes(block)) {
      outputs.push(b.expose(layerNorm(h, normScale, normBias), `block${block}`, ["batch", "tokens", WIDTH]));
    }
  }

  if (layout === "last_hidden_state") {
    const last = layerNorm(h, normScale, normBias);
    outputs.push(b.expose(last, "last_hidden_state", ["batch", "tokens", WIDTH]));
    const cls = b.op("Gather", [last, index[0]!], { axis: 1 });
    b.expose(cls, "pooler_output", ["batch", WIDTH]);
  }

  const card: ModelCard = {
    id: layout === "blocks" ? VIT_MODEL_ID : `${VIT_MODEL_ID}-last-hidden-state`,
    description:
      "DINOv2 ViT-S/14 architecture with random weights (blocks 9, 10, 11 -> 1152-d): real cost, meaningless features. For timings and loader tests.",
    input: {
      name: "pixel_values",
      size: 448,
      dynamicSize: true,
      patchSize: PATCH,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    },
    outputs: outputs.map((name) => ({ name, layout: "tokens" as const, prefixTokens: 1, dim: WIDTH })),
    embeddingDim: WIDTH * outputs.length,
    source: `generated by scripts/models/generate.ts (random weights, seed ${seed})`,
    precision: "fp32",
  };
  return { onnx: b.encode(17, "patchcore-inspection-api/vit-shape"), card };
}

export const VIT_INT8_MODEL_ID = `${VIT_MODEL_ID}-int8`;

/**
 * The same model (same seed, same weights) with its 48 weight MatMuls (qkv, proj, fc1, fc2 of 12
 * blocks) dynamically quantised to int8 per output channel (scripts/models/quantize.ts), as
 * onnxruntime's quantize_dynamic would: the patch embedding (Conv), the attention's own MatMuls,
 * LayerNorm and Softmax stay float32. Its own id, so /health and /infer name it.
 */
export function buildVitS14Int8Model(seed = 14): { onnx: Uint8Array; card: ModelCard } {
  const fp32 = buildVitS14Model(seed, "blocks");
  const { onnx, report } = quantizeMatMulWeights(fp32.onnx);
  const card: ModelCard = {
    ...fp32.card,
    id: VIT_INT8_MODEL_ID,
    description:
      `${fp32.card.description} Dynamic int8: ${report.quantised} MatMul weights int8 per output channel (7-bit range), ` +
      "activations quantised per tensor at run time (DynamicQuantizeLinear + MatMulInteger).",
    source: `${fp32.card.source}, quantised by scripts/models/quantize.ts`,
    precision: "int8",
  };
  return { onnx, card };
}
