const { floor, min } = Math;

/**
 * Percentiles with numpy's default ("linear") interpolation: for q in [0, 100],
 * rank = q/100 * (n-1), value = v[floor(rank)] + (v[floor(rank)+1] - v[floor(rank)]) * frac(rank)
 * over the sorted values. Uses quickselect on a copy (O(n) per percentile, not a sort);
 * `values` is never modified. NaN inputs are not supported (callers pass finite values).
 */
export function percentiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  return percentilesInPlace(Float64Array.from(values), qs);
}

/** As percentiles(), reordering `work` itself instead of a copy (for callers that own a scratch array). */
export function percentilesInPlace(work: Float64Array | Float32Array, qs: readonly number[]): number[] {
  const n = work.length;
  if (n === 0) throw new RangeError("percentile of an empty set");
  for (const q of qs) if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile ${q} is not in [0, 100]`);
  // ascending, each once: after select(k) everything right of k is >= work[k], so the next
  // selection only searches right of k
  const unique = [...new Set(qs)].sort((a, b) => a - b);
  const values = new Map<number, number>();
  let left = 0;
  for (const q of unique) {
    const rank = (q / 100) * (n - 1);
    const lo = floor(rank);
    const frac = rank - lo;
    if (frac === 0 || lo + 1 >= n) {
      values.set(q, select(work, lo, min(left, lo)));
      left = lo + 1;
      continue;
    }
    // v[lo] and v[lo+1] are needed: select the one whose neighbour lies on the shorter side, then
    // take that side's extreme (a low percentile scans lo+1 values, not n - lo)
    let low: number;
    let high: number;
    if (lo < n / 2) {
      high = select(work, lo + 1, min(left, lo + 1));
      low = work[0]!;
      for (let i = 1; i <= lo; i++) if (work[i]! > low) low = work[i]!;
      left = lo + 1;
    } else {
      low = select(work, lo, min(left, lo));
      high = work[lo + 1]!;
      for (let i = lo + 2; i < n; i++) if (work[i]! < high) high = work[i]!;
      left = lo + 1;
    }
    values.set(q, low + (high - low) * frac);
  }
  return qs.map((q) => values.get(q)!);
}

export function percentile(values: ArrayLike<number>, q: number): number {
  return percentiles(values, [q])[0]!;
}

/**
 * Reorders a[from..] so that a[k] is the k-th smallest of a, smaller left, larger right; returns
 * a[k]. `from` must have everything left of it already <= everything from it on.
 */
function select(a: Float64Array | Float32Array, k: number, from = 0): number {
  let left = from;
  let right = a.length - 1;
  while (right > left) {
    // median of three as pivot, then Hoare partition
    const mid = (left + right) >>> 1;
    if (a[mid]! < a[left]!) swap(a, mid, left);
    if (a[right]! < a[left]!) swap(a, right, left);
    if (a[right]! < a[mid]!) swap(a, right, mid);
    const pivot = a[mid]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k]!;
  }
  return a[min(k, a.length - 1)]!;
}

function swap(a: Float64Array | Float32Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
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
