const { floor } = Math;

/**
 * Percentiles with numpy's default ("linear") interpolation: for q in [0, 100],
 * rank = q/100 * (n-1), value = v[floor(rank)] + (v[floor(rank)+1] - v[floor(rank)]) * frac(rank)
 * over the sorted values. Sorts a float64 copy: for the small sets it serves (calibration scores,
 * benchmark samples); the anomaly map's 200k values use percentilesFloat32. `values` is not modified.
 */
export function percentiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) throw new RangeError("percentile of an empty set");
  for (const q of qs) if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile ${q} is not in [0, 100]`);
  const sorted = Float64Array.from(values).sort();
  return qs.map((q) => {
    const rank = (q / 100) * (n - 1);
    const lo = floor(rank);
    if (lo + 1 >= n) return sorted[lo]!;
    return sorted[lo]! + (sorted[lo + 1]! - sorted[lo]!) * (rank - lo);
  });
}

export function percentile(values: ArrayLike<number>, q: number): number {
  return percentiles(values, [q])[0]!;
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/**
 * The same percentiles (numpy linear) of float32 values, exactly, in two passes instead of
 * selections: float32 bit patterns made order-preserving as unsigned keys, a histogram of their
 * top 12 bits locates each needed order statistic's bin, and only those bins' values are sorted.
 * `values` is not modified.
 */
const SHIFT = 20;
const BINS = 1 << (32 - SHIFT);

export function percentilesFloat32(values: Float32Array, qs: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) throw new RangeError("percentile of an empty set");
  for (const q of qs) if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile ${q} is not in [0, 100]`);
  // an Int32Array view keeps the bit patterns small integers for V8 (a Uint32Array's top half is boxed)
  const bits = new Int32Array(values.buffer, values.byteOffset, n);
  // key = bits with the sign flipped for positives and all bits flipped for negatives: unsigned
  // key order = float order; bin = the key's top 12 bits (a 16 kB histogram stays in L1 cache)
  const histogram = new Uint32Array(BINS + 1); // histogram[b + 1] counts bin b; then prefix sums
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    histogram[((b < 0 ? ~b : b | 0x80000000) >>> SHIFT) + 1]! += 1;
  }
  for (let b = 1; b < histogram.length; b++) histogram[b]! += histogram[b - 1]!; // histogram[b] = values in bins < b
  const binOf = (rank: number) => {
    let lo = 0;
    let hi = BINS - 1; // the bin b with histogram[b] <= rank < histogram[b + 1]
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (histogram[mid]! <= rank) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const needed: number[] = [];
  for (const q of qs) {
    const lo = floor((q / 100) * (n - 1));
    needed.push(binOf(lo));
    if (lo + 1 < n) needed.push(binOf(lo + 1));
  }
  const slotOf = new Int32Array(BINS).fill(-1);
  const bins: Float32Array[] = [];
  for (const b of needed) {
    if (slotOf[b] === -1) {
      slotOf[b] = bins.length;
      bins.push(new Float32Array(histogram[b + 1]! - histogram[b]!));
    }
  }
  const filled = new Int32Array(bins.length);
  for (let i = 0; i < n; i++) {
    const b = bits[i]!;
    const slot = slotOf[(b < 0 ? ~b : b | 0x80000000) >>> SHIFT]!;
    if (slot >= 0) bins[slot]![filled[slot]!++] = values[i]!;
  }
  for (const bin of bins) bin.sort();
  const orderStatistic = (rank: number) => {
    const b = binOf(rank);
    return bins[slotOf[b]!]![rank - histogram[b]!]!;
  };
  return qs.map((q) => {
    const rank = (q / 100) * (n - 1);
    const lo = floor(rank);
    const low = orderStatistic(lo);
    if (lo + 1 >= n || rank === lo) return low;
    return low + (orderStatistic(lo + 1) - low) * (rank - lo);
  });
}
