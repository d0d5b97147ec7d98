import { onnx } from "onnx-proto";

const DataType = onnx.TensorProto.DataType;

export interface QuantizeOptions {
  /**
   * Weights in [-63, 63] instead of [-127, 127] (onnxruntime's `reduce_range`). On x86 CPUs
   * without VNNI, onnxruntime's u8 x s8 GEMM sums pairs of products in 16 bits (VPMADDUBSW), which
   * saturates for 255 x 127 x 2; 7-bit weights cannot. Default true: the model must give the same
   * answers on every x86 machine, VNNI or not.
   */
  readonly reduceRange?: boolean;
}

export interface QuantizeReport {
  /** MatMul nodes rewritten (weights quantised). */
  readonly quantised: number;
  /** Float32 weight bytes replaced by int8 bytes. */
  readonly floatBytes: number;
  readonly int8Bytes: number;
}

/**
 * Dynamic int8 quantisation of the MatMul weights of an ONNX model, as onnxruntime's
 * `quantize_dynamic` does in its "MatMulInteger" form, here per output channel and symmetric:
 * every MatMul whose second input is a float32 2-d initializer W [K, N] becomes
 *
 *   x_q, x_scale, x_zero = DynamicQuantizeLinear(x)          (uint8, per tensor, at run time)
 *   y = Cast(MatMulInteger(x_q, W_q, x_zero), float) * (x_scale * w_scale)
 *
 * with W_q = round(W / w_scale) in int8, w_scale [N] = max_k |W[k, n]| / 127 (63 with
 * `reduceRange`). onnxruntime fuses the pattern into one DynamicQuantizeMatMul kernel. Other nodes
 * (Conv, the attention's activation x activation MatMuls, LayerNorm, Softmax) stay float32.
 * The float weights the rewritten nodes used are dropped.
 */
export function quantizeMatMulWeights(model: Uint8Array, options: QuantizeOptions = {}): { onnx: Uint8Array; report: QuantizeReport } {
  const proto = onnx.ModelProto.decode(model);
  const graph = proto.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const qmax = options.reduceRange === false ? 127 : 63;
  const nodes: onnx.INodeProto[] = [];
  const replaced = new Set<string>();
  let counter = 0;
  let floatBytes = 0;
  let int8Bytes = 0;
  const added: onnx.ITensorProto[] = [];
  for (const node of graph.node ?? []) {
    const weight = node.opType === "MatMul" ? initializers.get(node.input![1]!) : undefined;
    if (!weight || weight.dataType !== DataType.FLOAT || weight.dims?.length !== 2) {
      nodes.push(node);
      continue;
    }
    const [k, n] = weight.dims.map(Number) as [number, number];
    const w = floatData(weight);
    const scale = new Float32Array(n);
    for (let c = 0; c < n; c++) {
      let largest = 0;
      for (let r = 0; r < k; r++) largest = Math.max(largest, Math.abs(w[r * n + c]!));
      scale[c] = largest > 0 ? largest / qmax : 1;
    }
    const q = new Int8Array(k * n);
    for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) q[r * n + c] = Math.max(-qmax, Math.min(qmax, Math.round(w[r * n + c]! / scale[c]!)));
    const id = `${node.name ?? "matmul"}_q${counter++}`;
    added.push(
      { name: `${id}_w`, dims: [k, n], dataType: DataType.INT8, rawData: new Uint8Array(q.buffer) },
      { name: `${id}_w_scale`, dims: [n], dataType: DataType.FLOAT, rawData: new Uint8Array(scale.buffer) },
    );
    replaced.add(weight.name!);
    floatBytes += k * n * 4;
    int8Bytes += k * n + n * 4;
    const x = node.input![0]!;
    const y = node.output![0]!;
    nodes.push(
      { opType: "DynamicQuantizeLinear", name: `${id}_quantise`, input: [x], output: [`${id}_x`, `${id}_x_scale`, `${id}_x_zero`] },
      { opType: "Mul", name: `${id}_scales`, input: [`${id}_x_scale`, `${id}_w_scale`], output: [`${id}_scale`] },
      { opType: "MatMulInteger", name: `${id}_matmul`, input: [`${id}_x`, `${id}_w`, `${id}_x_zero`], output: [`${id}_int32`] },
      {
        opType: "Cast",
        name: `${id}_cast`,
        input: [`${id}_int32`],
        output: [`${id}_float`],
        attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: DataType.FLOAT }],
      },
      { opType: "Mul", name: `${id}_rescale`, input: [`${id}_float`, `${id}_scale`], output: [y] },
    );
  }
  // a float weight another node still reads stays
  const stillRead = new Set(nodes.flatMap((n) => n.input ?? []));
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !replaced.has(t.name!) || stillRead.has(t.name!)), ...added];
  graph.node = nodes;
  proto.producerName = `${proto.producerName ?? ""}+int8`;
  return { onnx: onnx.ModelProto.encode(proto).finish(), report: { quantised: counter, floatBytes, int8Bytes } };
}

function floatData(tensor: onnx.ITensorProto): Float32Array {
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return Float32Array.from(tensor.floatData ?? []);
}
