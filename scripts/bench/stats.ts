import { percentiles } from "../../lib/patchcore/percentile";

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly min: number;
}

export function summarise(samples: readonly number[]): Summary {
  if (samples.length === 0) return { n: 0, p50: NaN, p95: NaN, min: NaN };
  const [p50, p95] = percentiles(samples, [50, 95]) as [number, number];
  return { n: samples.length, p50, p95, min: Math.min(...samples) };
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
