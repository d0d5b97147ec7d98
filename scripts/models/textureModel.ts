import { GraphBuilder } from "../../lib/onnx/graphBuilder";
import type { ModelCard } from "../../lib/features/modelCard";

/**
 * The small offline feature extractor: a fixed, deterministic texture descriptor as an ONNX graph.
 *
 * Per 14-px patch, at three pyramid levels (full resolution, 1/2 and 1/7, so the filters see
 * structure of about 1, 2 and 7 px):
 *   colour transform  I = (R+G+B)/3, O1 = (R-G)/2, O2 = (R+G-2B)/4 (intensity + two opponent channels)
 *   Gaussian (sigma 1) of each channel, and the magnitudes of its first and second derivatives
 *   (Gx, Gy, Gxx, Gyy, Gxy; scale-normalised, times `derivativeGain`)
 *   mean and standard deviation of each response over the patch
 * = 3 levels x 3 channels x (1 + 5) responses x 2 statistics = 108 values, then PatchCore's
 * 3x3 neighbourhood average over the patch grid. Output layout "nchw": [batch, 108, H/14, W/14].
 *
 * Input: "pixel_values" [batch, 3, H, W], RGB in [0, 1] (card mean 0, std 1), H and W multiples of 14.
 */
export const TEXTURE_MODEL_ID = "texture-s14-v1";
export const PATCH = 14;
const SIGMA = 1;
const RADIUS = 3;
const LEVELS = [
  { downsample: 1, pool: 14 },
  { downsample: 2, pool: 7 },
  { downsample: 7, pool: 2 },
] as const;

export interface TextureModelOptions {
  /** Weight of the derivative magnitudes against the colour means; tuned on inspection images. */
  readonly derivativeGain: number;
  readonly inputSize: number;
  /** The graph's batch axis: dynamic ("batch", the default) or fixed, as some exporters write it. */
  readonly batchAxis?: number | "batch";
}

export const DEFAULT_TEXTURE_OPTIONS: TextureModelOptions = { derivativeGain: 4, inputSize: 448 };

/** 2-D Gaussian-derivative kernels, [5][k*k] row-major, k = 2*RADIUS+1: Gx, Gy, Gxx, Gyy, Gxy. */
export function derivativeKernels(sigma: number, radius: number): { gaussian: Float32Array; derivatives: Float32Array[] } {
  const k = 2 * radius + 1;
  const g = new Float64Array(k * k);
  let sum = 0;
  for (let y = -radius; y <= radius; y++) {
    for (let x = -radius; x <= radius; x++) {
      const v = Math.exp(-(x * x + y * y) / (2 * sigma * sigma));
      g[(y + radius) * k + (x + radius)] = v;
      sum += v;
    }
  }
  for (let i = 0; i < g.length; i++) g[i]! /= sum;
  const s2 = sigma * sigma;
  const s4 = s2 * s2;
  // Scale-normalised (first order x sigma, second order x sigma^2), so levels are comparable.
  const shapes: ((x: number, y: number) => number)[] = [
    (x) => (-x / s2) * sigma,
    (_x, y) => (-y / s2) * sigma,
    (x) => ((x * x) / s4 - 1 / s2) * s2,
    (_x, y) => ((y * y) / s4 - 1 / s2) * s2,
    (x, y) => ((x * y) / s4) * s2,
  ];
  const derivatives = shapes.map((shape) => {
    const out = new Float32Array(k * k);
    let mean = 0;
    for (let y = -radius; y <= radius; y++) {
      for (let x = -radius; x <= radius; x++) {
        const i = (y + radius) * k + (x + radius);
        out[i] = shape(x, y) * g[i]!;
        mean += out[i]!;
      }
    }
    mean /= k * k;
    for (let i = 0; i < out.length; i++) out[i]! -= mean; // a derivative kernel ignores flat regions
    return out;
  });
  return { gaussian: Float32Array.from(g), derivatives };
}

export function buildTextureModel(options: TextureModelOptions = DEFAULT_TEXTURE_OPTIONS): { onnx: Uint8Array; card: ModelCard } {
  const b = new GraphBuilder("texture_s14");
  const batch = options.batchAxis ?? "batch";
  const input = b.input("pixel_values", [batch, 3, "height", "width"]);
  const colourWeights = [1 / 3, 1 / 3, 1 / 3, 1 / 2, -1 / 2, 0, 1 / 4, 1 / 4, -1 / 2];
  const colour = b.op("Conv", [input, b.floats("colour_w", [3, 3, 1, 1], colourWeights)]);

  const k = 2 * RADIUS + 1;
  const { gaussian, derivatives } = derivativeKernels(SIGMA, RADIUS);
  const smoothW = new Float32Array(3 * k * k);
  const derivW = new Float32Array(3 * 5 * k * k);
  for (let c = 0; c < 3; c++) {
    smoothW.set(gaussian, c * k * k);
    for (let d = 0; d < 5; d++) {
      const scaled = derivatives[d]!.map((v) => v * options.derivativeGain);
      derivW.set(scaled, (c * 5 + d) * k * k);
    }
  }
  const smoothName = b.floats("smooth_w", [3, 1, k, k], smoothW);
  const derivName = b.floats("deriv_w", [15, 1, k, k], derivW);
  const convAttrs = { group: 3, pads: [RADIUS, RADIUS, RADIUS, RADIUS], kernel_shape: [k, k] };

  const perLevel: string[] = [];
  for (const level of LEVELS) {
    const x =
      level.downsample === 1
        ? colour
        : b.op("AveragePool", [colour], { kernel_shape: [level.downsample, level.downsample], strides: [level.downsample, level.downsample] });
    const smooth = b.op("Conv", [x, smoothName], convAttrs);
    const deriv = b.op("Abs", [b.op("Conv", [x, derivName], convAttrs)]);
    const pool = { kernel_shape: [level.pool, level.pool], strides: [level.pool, level.pool] };
    for (const response of [smooth, deriv]) {
      const mean = b.op("AveragePool", [response], pool);
      const meanOfSquare = b.op("AveragePool", [b.op("Mul", [response, response])], pool);
      const variance = b.op("Relu", [b.op("Sub", [meanOfSquare, b.op("Mul", [mean, mean])])]);
      const std = b.op("Sqrt", [b.op("Add", [variance, b.floats("eps", [1], [1e-8])])]);
      perLevel.push(mean, std);
    }
  }
  const features = b.op("Concat", perLevel, { axis: 1 });
  const neighbourhood = b.op("AveragePool", [features], {
    kernel_shape: [3, 3],
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    count_include_pad: 0,
  });
  const dim = LEVELS.length * 3 * 6 * 2;
  b.expose(neighbourhood, "patch_features", [batch, dim, "grid_h", "grid_w"]);

  const card: ModelCard = {
    id: TEXTURE_MODEL_ID,
    description:
      "Offline texture descriptor: Gaussian-derivative filter bank on intensity and two opponent colours, " +
      "3 pyramid levels, per-14-px-patch mean and std, 3x3 neighbourhood average. No learned weights.",
    input: { name: "pixel_values", size: options.inputSize, dynamicSize: true, patchSize: PATCH, mean: [0, 0, 0], std: [1, 1, 1] },
    outputs: [{ name: "patch_features", layout: "nchw", prefixTokens: 0, dim }],
    embeddingDim: dim,
    source: `generated by scripts/models/generate.ts (derivativeGain ${options.derivativeGain})`,
    precision: "fp32",
  };
  return { onnx: b.encode(17, "patchcore-inspection-api/texture"), card };
}
