/** Nearest-neighbour scoring of patch embeddings against a memory bank. */
export interface NearestNeighbourScorer {
  readonly kind: "exact" | "hnsw";
  /**
   * @param queries Float32Array [n, dim], L2-normalised rows
   * @returns Float32Array [n]: Euclidean distance of each row to its nearest memory row
   *          (between L2-normalised vectors, as the old backend).
   */
  distances(queries: Float32Array): Promise<Float32Array>;
}
