// Bound once: a global lookup per call is slow inside vm contexts (jest), and this runs millions of times.
const { imul, floor, sqrt, log, cos, PI } = Math;

/** Seeded pseudo-random numbers (mulberry32): same seed, same sequence, on every machine. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return sqrt(-2 * log(u)) * cos(2 * PI * v);
  }

  /** Fills `out` with normal values of the given standard deviation and returns it. */
  fillNormal(out: Float32Array, std: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * std;
    return out;
  }
}
