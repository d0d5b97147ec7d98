const { sqrt } = Math;

/**
 * L2-normalises each row of `data` (Float32Array [rows, dim]) in place; a zero row stays zero.
 * PatchCore here compares patches by Euclidean distance between L2-normalised embeddings,
 * as the old backend did.
 */
export function l2NormalizeRows(data: Float32Array, dim: number): Float32Array {
  const rows = data.length / dim;
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += data[base + d]! * data[base + d]!;
    if (sum === 0) continue;
    const inv = 1 / sqrt(sum);
    for (let d = 0; d < dim; d++) data[base + d]! *= inv;
  }
  return data;
}

/** Concatenates row blocks with the same dim into one Float32Array [sum rows, dim]. */
export function concatRows(blocks: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(blocks.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const block of blocks) {
    out.set(block, offset);
    offset += block.length;
  }
  return out;
}

/** Copies rows `indices` of `data` ([rows, dim]) into a new Float32Array [indices.length, dim]. */
export function gatherRows(data: Float32Array, dim: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * dim);
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i]!;
    out.set(data.subarray(row * dim, (row + 1) * dim), i * dim);
  }
  return out;
}

/** Euclidean distances from squared ones, clamping the tiny negatives rounding can give. */
export function sqrtClamped(squared: Float32Array): Float32Array {
  const out = new Float32Array(squared.length);
  for (let i = 0; i < squared.length; i++) out[i] = squared[i]! > 0 ? sqrt(squared[i]!) : 0;
  return out;
}
