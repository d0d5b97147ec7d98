import { onnx } from "onnx-proto";

/**
 * A small builder for ONNX graphs written with onnx-proto, for the models this project
 * generates itself (the offline texture extractor, the ViT-S/14-shaped model, the exact kNN graph).
 * Values are named by strings, as in ONNX; `node` returns the names of its outputs.
 */

export type AttributeValue = number | string | number[] | { ints: number[] } | { float: number } | onnx.ITensorProto;
export type Dim = number | string;

const DataType = onnx.TensorProto.DataType;

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}_${this.counter}`;
  }

  input(name: string, dims: Dim[], elemType: number = DataType.FLOAT): string {
    this.inputs.push(valueInfo(name, dims, elemType));
    return name;
  }

  output(name: string, dims: Dim[], elemType: number = DataType.FLOAT): string {
    this.outputs.push(valueInfo(name, dims, elemType));
    return name;
  }

  /** A float32 initializer; `data` is row-major with `dims`. */
  floats(prefix: string, dims: number[], data: Float32Array | number[]): string {
    const array = data instanceof Float32Array ? data : Float32Array.from(data);
    if (array.length !== dims.reduce((a, b) => a * b, 1)) {
      throw new Error(`initializer ${prefix}: ${array.length} values for dims [${dims.join(", ")}]`);
    }
    const name = this.fresh(prefix);
    this.initializers.push({
      name,
      dims,
      dataType: DataType.FLOAT,
      rawData: new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
    });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices). */
  int64s(prefix: string, values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh(prefix);
    const raw = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({
      name,
      dims,
      dataType: DataType.INT64,
      rawData: new Uint8Array(raw.buffer),
    });
    return name;
  }

  /** Adds one node and returns its output names (`outputCount` of them, fresh). */
  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, outputCount = 1): string[] {
    const outputs = Array.from({ length: outputCount }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      name: this.fresh(`${opType}_node`),
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return outputs;
  }

  /** Adds one node with a single output and returns its name. */
  op(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}): string {
    return this.node(opType, inputs, attributes, 1)[0]!;
  }

  /** Renames a value to a graph output name with an Identity node. */
  expose(value: string, name: string, dims: Dim[], elemType: number = DataType.FLOAT): string {
    this.nodes.push({ opType: "Identity", name: this.fresh("Identity_node"), input: [value], output: [name] });
    return this.output(name, dims, elemType);
  }

  static readonly INT64 = DataType.INT64;
  static readonly INT32 = DataType.INT32;
  static readonly DOUBLE = DataType.DOUBLE;
  static readonly FLOAT = DataType.FLOAT;

  /** Serialises the model (ONNX IR 8, default domain at `opset`). */
  encode(opset: number, producer: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      producerVersion: "1",
      opsetImport: [{ domain: "", version: opset }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: Dim[], elemType: number): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const Type = onnx.AttributeProto.AttributeType;
  if (typeof value === "number") {
    return Number.isInteger(value) ? { name, type: Type.INT, i: value } : { name, type: Type.FLOAT, f: value };
  }
  if (typeof value === "string") return { name, type: Type.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: Type.INTS, ints: value };
  if ("ints" in value) return { name, type: Type.INTS, ints: value.ints };
  if ("float" in value) return { name, type: Type.FLOAT, f: value.float };
  return { name, type: Type.TENSOR, t: value };
}
