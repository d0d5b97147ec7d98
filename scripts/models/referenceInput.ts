/**
 * The deterministic input both the Python exporter and the TypeScript verifier build, so a
 * model's output can be compared across the two without shipping a tensor:
 *   x[b, c, y, x] = 1.5 * sin(0.05 * (x + 2y) + c + 0.7b)   (already normalised), float32 [batch, 3, S, S]
 * Keep in sync with reference_input() in export_dinov2.py.
 */
export function referenceInput(batch: number, size: number): Float32Array {
  const out = new Float32Array(batch * 3 * size * size);
  for (let b = 0; b < batch; b++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[((b * 3 + c) * size + y) * size + x] = 1.5 * Math.sin(0.05 * (x + 2 * y) + c + 0.7 * b);
  return out;
}

/** What the exporter records of its PyTorch output for referenceInput(2, size). */
export interface ModelReference {
  readonly inputSize: number;
  readonly batch: number;
  /** Patch rows (token index in the h*w grid) recorded, per image. */
  readonly rows: readonly number[];
  /** values[b][k] = the full D-vector of patch row rows[k] of image b (outputs concatenated in card order). */
  readonly values: readonly (readonly (readonly number[])[])[];
  readonly producer: string;
}
