import type { ModelCard } from "./modelCard";

/** Patch embeddings of one image: Float32Array [h*w, dim], row-major over the token grid. */
export interface PatchGrid {
  readonly embeddings: Float32Array;
  readonly h: number;
  readonly w: number;
  readonly dim: number;
}

/** Image tensors in, patch grids out. */
export interface FeatureExtractor {
  readonly card: ModelCard;
  /** Side of the square input the extractor runs at (pixels). */
  readonly inputSize: number;
  /**
   * @param pixels Float32Array [count, 3, inputSize, inputSize], normalised as the card says.
   * @returns one PatchGrid per image.
   */
  extract(pixels: Float32Array, count: number): Promise<PatchGrid[]>;
}
