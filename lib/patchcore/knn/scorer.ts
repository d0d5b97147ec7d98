/** Nearest-neighbour scoring of patch embeddings against a memory bank. */
export interface NearestNeighbourScorer {
  readonly kind: "exact" | "hnsw" | "two_stage";
  /**
   * @param queries Float32Array [n, dim]; the scorer L2-normalises the rows (without changing `queries`)
   * @returns Float32Array [n]: Euclidean distance of each row to its nearest memory row
   *          (between L2-normalised vectors, as the old backend).
   */
  distances(queries: Float32Array): Promise<Float32Array>;
}
