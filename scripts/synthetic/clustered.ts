import { l2NormalizeRows } from "../../lib/patchcore/vectors";
import { SeededRandom } from "../../lib/random";

/**
 * Clustered embeddings like patch features (a mixture of `clusters` Gaussians, spread `spread`
 * around unit-norm centres, then L2-normalised): Float32Array [rows, dim]. Uniform random data
 * is the worst case for HNSW and unlike real patches; this is closer to them.
 */
export function clusteredRows(rows: number, dim: number, clusters: number, spread: number, seed: number, centresSeed = 1): Float32Array {
  const centres = l2NormalizeRows(new SeededRandom(centresSeed).fillNormal(new Float32Array(clusters * dim), 1), dim);
  const rng = new SeededRandom(seed);
  const out = new Float32Array(rows * dim);
  const noise = spread / Math.sqrt(dim);
  for (let r = 0; r < rows; r++) {
    const c = rng.int(clusters);
    for (let d = 0; d < dim; d++) out[r * dim + d] = centres[c * dim + d]! + rng.normal() * noise;
  }
  return l2NormalizeRows(out, dim);
}
