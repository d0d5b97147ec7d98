const { floor, min } = Math;

/**
 * Percentiles with numpy's default ("linear") interpolation: for q in [0, 100],
 * rank = q/100 * (n-1), value = v[floor(rank)] + (v[floor(rank)+1] - v[floor(rank)]) * frac(rank)
 * over the sorted values. Uses quickselect on a copy (O(n) per percentile, not a sort);
 * `values` is never modified. NaN inputs are not supported (callers pass finite values).
 */
export function percentiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) throw new RangeError("percentile of an empty set");
  const work = Float64Array.from(values);
  return qs.map((q) => {
    if (!(q >= 0 && q <= 100)) throw new RangeError(`percentile ${q} is not in [0, 100]`);
    const rank = (q / 100) * (n - 1);
    const lo = floor(rank);
    const frac = rank - lo;
    const low = select(work, lo);
    if (frac === 0 || lo + 1 >= n) return low;
    // after select(lo), everything right of lo is >= work[lo]: the next order statistic is their minimum
    let high = work[lo + 1]!;
    for (let i = lo + 2; i < n; i++) if (work[i]! < high) high = work[i]!;
    return low + (high - low) * frac;
  });
}

export function percentile(values: ArrayLike<number>, q: number): number {
  return percentiles(values, [q])[0]!;
}

/** Reorders `a` so that a[k] is the k-th smallest, smaller left, larger right; returns a[k]. */
function select(a: Float64Array, k: number): number {
  let left = 0;
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

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}
