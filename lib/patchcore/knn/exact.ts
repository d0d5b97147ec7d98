import { nearestSquaredL2Normalised } from "../../onnx/kernels";
import type { MemoryBank } from "../memoryBank";
import { sqrtClamped } from "../vectors";
import type { NearestNeighbourScorer } from "./scorer";

/** Brute-force exact nearest neighbour on onnxruntime (Gemm + ReduceMin): the reference, and fast. */
export class ExactScorer implements NearestNeighbourScorer {
  readonly kind = "exact" as const;

  constructor(
    private readonly bank: MemoryBank,
    private readonly threads: number,
  ) {}

  async distances(queries: Float32Array): Promise<Float32Array> {
    const { minSquared } = await nearestSquaredL2Normalised(queries, this.bank.embeddings, this.bank.dim, this.threads);
    return sqrtClamped(minSquared);
  }
}
