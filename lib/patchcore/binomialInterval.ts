const { abs, exp, log, max, min } = Math;

/**
 * Clopper-Pearson ("exact") two-sided interval of a binomial proportion: `events` out of `n`
 * trials, at `confidence` (0.95: 2.5 % in each tail). The bounds are the Beta quantiles
 *   low  = B^-1(alpha/2;     events,     n - events + 1)   (0 when events = 0)
 *   high = B^-1(1 - alpha/2; events + 1, n - events)       (1 when events = n)
 * (Clopper & Pearson 1934, Biometrika 26:404), which are the p where P(X >= events | p) and
 * P(X <= events | p) equal alpha/2. Its coverage is at least `confidence` for every true rate and
 * n, which is why it states error rates here: Wilson's interval is shorter but covers less than
 * its nominal level for some small rates, where false-alarm rates live.
 */
export function clopperPearson(events: number, n: number, confidence = 0.95): { low: number; high: number } {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`clopperPearson: n must be a whole number >= 1, got ${n}`);
  if (!Number.isInteger(events) || events < 0 || events > n) throw new RangeError(`clopperPearson: events must be a whole number in [0, ${n}], got ${events}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`clopperPearson: confidence must be in (0, 1), got ${confidence}`);
  const tail = (1 - confidence) / 2;
  return {
    low: events === 0 ? 0 : inverseRegularizedBeta(tail, events, n - events + 1),
    high: events === n ? 1 : inverseRegularizedBeta(1 - tail, events + 1, n - events),
  };
}

/** The x in [0, 1] with I_x(a, b) = p, by bisection (I_x is increasing in x): to the last bit of a double. */
export function inverseRegularizedBeta(p: number, a: number, b: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 1100 && hi - lo > 0; i++) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (regularizedBeta(mid, a, b) < p) lo = mid;
    else hi = mid;
  }
  return lo + (hi - lo) / 2;
}

/**
 * The regularized incomplete Beta function I_x(a, b), a, b > 0: the continued fraction of
 * Numerical Recipes (3rd ed., 6.4, modified Lentz), on the side of x where it converges fast.
 */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * log(x) + b * log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

const TINY = 1e-300;
const EPSILON = 1e-16;
const MAX_TERMS = 100_000;

function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_TERMS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (abs(delta - 1) < EPSILON) return h;
  }
  throw new Error(`regularizedBeta: no convergence for x=${x}, a=${a}, b=${b}`);
}

/** Lanczos coefficients (g = 7, 9 terms), as in Numerical Recipes and Boost: log Gamma to ~1e-15 relative. */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Gamma(z) for z > 0. */
export function logGamma(z: number): number {
  if (!(z > 0)) throw new RangeError(`logGamma: z must be > 0, got ${z}`);
  if (z < 0.5) return log(Math.PI / Math.sin(Math.PI * z)) - logGamma(1 - z);
  const zm = z - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (zm + i);
  const t = zm + 7.5;
  return 0.5 * log(2 * Math.PI) + (zm + 0.5) * log(t) - t + log(sum);
}

/** The least n with Clopper-Pearson's upper bound at 0 events, 1 - (alpha/2)^(1/n), at most `rate`. */
export function trialsToShowRate(rate: number, confidence = 0.95): number {
  const tail = (1 - confidence) / 2;
  return max(1, Math.ceil(log(tail) / log(1 - min(rate, 1 - 1e-16)) - 1e-9));
}
