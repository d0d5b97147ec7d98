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

/**
 * Clustered embeddings whose spread lies mostly in a `noiseRank`-dimensional subspace shared by all
 * clusters (plus `floor` of isotropic noise), then L2-normalised: the decaying spectrum of real
 * patch features (a few hundred directions carry ~99 % of their variance, the ViT-S/14-shaped
 * features of the bench images included), unlike `clusteredRows`' isotropic noise.
 */
export function lowRankClusteredRows(
  rows: number,
  dim: number,
  clusters: number,
  spread: number,
  noiseRank: number,
  seed: number,
  centresSeed = 1,
  floor = 0.02,
): Float32Array {
  const centres = l2NormalizeRows(new SeededRandom(centresSeed).fillNormal(new Float32Array(clusters * dim), 1), dim);
  const directions = new SeededRandom(centresSeed + 7).fillNormal(new Float32Array(noiseRank * dim), 1 / Math.sqrt(dim));
  const rng = new SeededRandom(seed);
  const out = new Float32Array(rows * dim);
  const weights = new Float32Array(noiseRank);
  for (let r = 0; r < rows; r++) {
    const c = rng.int(clusters);
    for (let k = 0; k < noiseRank; k++) weights[k] = (rng.normal() * spread) / Math.sqrt(noiseRank);
    for (let d = 0; d < dim; d++) {
      let v = centres[c * dim + d]! + (rng.normal() * floor) / Math.sqrt(dim);
      for (let k = 0; k < noiseRank; k++) v += weights[k]! * directions[k * dim + d]!;
      out[r * dim + d] = v;
    }
  }
  return l2NormalizeRows(out, dim);
}
