/** Percentile with numpy's default linear interpolation, on a copy (input untouched). */
export function percentileOf(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly min: number;
}

export function summarise(samples: readonly number[]): Summary {
  return { n: samples.length, p50: percentileOf(samples, 50), p95: percentileOf(samples, 95), min: Math.min(...samples) };
}

/** Runs `work` `warmup` times unmeasured, then `runs` times, returning wall times in ms. */
export async function measure(runs: number, warmup: number, work: () => Promise<unknown> | unknown): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await work();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    samples.push(performance.now() - start);
  }
  return samples;
}

export const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : "n/a");
