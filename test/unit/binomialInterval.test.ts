import golden from "../fixtures/binomial_intervals.json";
import { clopperPearson, logGamma, regularizedBeta, trialsToShowRate } from "../../lib/patchcore/binomialInterval";

/** log C(n, k) by summing logs (no Gamma function): the reference's own arithmetic. */
function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log(n - k + i) - Math.log(i);
  return sum;
}

/** P(X <= k) for X ~ Binomial(n, p), term by term. */
function binomialCdf(k: number, n: number, p: number): number {
  let sum = 0;
  let logC = 0; // log C(n, i)
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    sum += Math.exp(logC + i * Math.log(p) + (n - i) * Math.log1p(-p));
  }
  return sum;
}

/** The p in (0, 1) where the decreasing f(p) crosses `level`, by bisection. */
function crossing(f: (p: number) => number, level: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) > level) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Clopper-Pearson from its definition on the binomial sums: high solves P(X <= k | p) = 2.5 %,
 * low solves P(X >= k | p) = 2.5 %.
 */
function referenceInterval(k: number, n: number) {
  return {
    low: k === 0 ? 0 : crossing((p) => binomialCdf(k - 1, n, p), 0.975),
    high: k === n ? 1 : crossing((p) => binomialCdf(k, n, p), 0.025),
  };
}

/** Wilson's score interval (z = 1.959964), for comparison only. */
function wilson(k: number, n: number) {
  const z = 1.959963984540054;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** The lowest probability, over a grid of rates p, that the interval of X ~ Binomial(n, p) contains p (summed exactly over every outcome). */
function lowestCoverage(interval: (k: number, n: number) => { low: number; high: number }, n: number, rates: readonly number[]): number {
  const intervals = Array.from({ length: n + 1 }, (_, k) => interval(k, n));
  let lowest = 1;
  for (const p of rates) {
    let covered = 0;
    for (let k = 0; k <= n; k++) {
      const { low, high } = intervals[k]!;
      if (low <= p && p <= high) covered += Math.exp(logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p));
    }
    lowest = Math.min(lowest, covered);
  }
  return lowest;
}

describe("Clopper-Pearson interval", () => {
  it("has the closed forms at 0 and n events: [0, 1 - 0.025^(1/n)] and [0.025^(1/n), 1]", () => {
    for (const n of [1, 2, 5, 13, 50, 1000]) {
      expect(clopperPearson(0, n)).toEqual({ low: 0, high: expect.closeTo(1 - Math.pow(0.025, 1 / n), 13) });
      expect(clopperPearson(n, n)).toEqual({ low: expect.closeTo(Math.pow(0.025, 1 / n), 13), high: 1 });
    }
    expect(clopperPearson(0, 1).high).toBeCloseTo(0.975, 14);
  });

  it("solves its definition on the binomial sums (a bisection on term-by-term sums)", () => {
    for (const n of [1, 2, 7, 13, 40, 97]) {
      for (let k = 0; k <= n; k += Math.max(1, Math.floor(n / 9))) {
        const got = clopperPearson(k, n);
        const want = referenceInterval(k, n);
        expect(got.low).toBeCloseTo(want.low, 10);
        expect(got.high).toBeCloseTo(want.high, 10);
      }
    }
  });

  it.each(golden.cases.map((c) => [`${c.events} of ${c.n}`, c] as const))("matches scipy's exact interval: %s", (_name, c) => {
    const got = clopperPearson(c.events, c.n);
    expect(got.low).toBeCloseTo(c.clopper_pearson[0]!, 9);
    expect(got.high).toBeCloseTo(c.clopper_pearson[1]!, 9);
  });

  it("covers the true rate at least 95 % of the time for every rate (Wilson, for comparison, does not)", () => {
    // the reason for choosing it: exact coverage, summed over every outcome, on a grid of small rates
    const wilsonMatchesScipy = golden.cases.every((c) => Math.abs(wilson(c.events, c.n).high - c.wilson[1]!) < 1e-9);
    expect(wilsonMatchesScipy).toBe(true);
    const rates = Array.from({ length: 430 }, (_, i) => 0.001 + i * 0.0007);
    for (const n of [20, 50]) {
      expect(lowestCoverage(clopperPearson, n, rates)).toBeGreaterThanOrEqual(0.95);
      expect(lowestCoverage(wilson, n, rates)).toBeLessThan(0.95);
    }
  });

  it("rejects impossible counts", () => {
    expect(() => clopperPearson(3, 2)).toThrow(RangeError);
    expect(() => clopperPearson(-1, 2)).toThrow(RangeError);
    expect(() => clopperPearson(0, 0)).toThrow(RangeError);
    expect(() => clopperPearson(1.5, 3)).toThrow(RangeError);
  });

  it("says how many trials without an event show a rate: the least n with 1 - 0.025^(1/n) <= rate", () => {
    for (const rate of [0.5, 0.1, 0.05, 0.005, 0.001]) {
      const n = trialsToShowRate(rate);
      expect(clopperPearson(0, n).high).toBeLessThanOrEqual(rate);
      expect(clopperPearson(0, n - 1).high).toBeGreaterThan(rate);
    }
    expect(trialsToShowRate(0.005)).toBe(736);
  });
});

describe("the special functions under it", () => {
  it("log Gamma: log of factorials and Gamma(1/2) = sqrt(pi)", () => {
    let logFactorial = 0;
    for (let n = 1; n <= 170; n++) {
      expect(logGamma(n)).toBeCloseTo(logFactorial, 9);
      logFactorial += Math.log(n);
    }
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
  });

  it("the regularized incomplete Beta with integer arguments is a binomial tail: I_p(k, n - k + 1) = P(X >= k)", () => {
    for (const [k, n, p] of [
      [1, 1, 0.3],
      [3, 13, 0.2],
      [10, 13, 0.7],
      [2, 50, 0.01],
      [40, 100, 0.45],
    ] as const) {
      expect(regularizedBeta(p, k, n - k + 1)).toBeCloseTo(1 - binomialCdf(k - 1, n, p), 12);
    }
    expect([regularizedBeta(0, 2, 3), regularizedBeta(1, 2, 3)]).toEqual([0, 1]);
  });
});
