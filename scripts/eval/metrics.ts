/** Detection metrics for the evaluation command. Positive = defective. */

/** Exact ROC AUC (ties count half), O(n log n). */
export function auroc(scores: readonly number[], labels: readonly boolean[]): number {
  const order = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => a[0] - b[0]);
  const positives = labels.filter(Boolean).length;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && order[j]![0] === order[i]![0]) j++;
    const midRank = (i + j + 1) / 2; // 1-based average rank of the tie group
    for (let k = i; k < j; k++) if (order[k]![1]) rankSum += midRank;
    i = j;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** ROC curve points (false positive rate, true positive rate), from the highest threshold down. */
export function rocCurve(scores: readonly number[], labels: readonly boolean[]): [number, number][] {
  const order = scores.map((s, i) => [s, labels[i]!] as const).sort((a, b) => b[0] - a[0]);
  const positives = labels.filter(Boolean).length;
  const negatives = labels.length - positives;
  const points: [number, number][] = [[0, 0]];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; i++) {
    if (order[i]![1]) tp++;
    else fp++;
    if (i + 1 === order.length || order[i + 1]![0] !== order[i]![0]) points.push([fp / negatives, tp / positives]);
  }
  return points;
}

/**
 * Pixel-level AUROC over many millions of pixels with a histogram of `bins` score bins (memory
 * O(bins), not O(pixels)); pixels in the same bin count as tied. Add images one at a time.
 */
export class BinnedAuroc {
  private readonly positive: Float64Array;
  private readonly negative: Float64Array;

  constructor(
    private readonly low: number,
    private readonly high: number,
    private readonly bins = 1 << 20,
  ) {
    this.positive = new Float64Array(bins);
    this.negative = new Float64Array(bins);
  }

  add(scores: Float32Array, truth: Uint8Array): void {
    const scale = (this.bins - 1) / (this.high - this.low || 1);
    for (let i = 0; i < scores.length; i++) {
      const bin = Math.min(this.bins - 1, Math.max(0, Math.floor((scores[i]! - this.low) * scale)));
      if (truth[i]) this.positive[bin]! += 1;
      else this.negative[bin]! += 1;
    }
  }

  /** AUC and curve points (at most ~200) for plotting. */
  result(): { auroc: number; curve: [number, number][]; positives: number; negatives: number } {
    const P = this.positive.reduce((a, b) => a + b, 0);
    const N = this.negative.reduce((a, b) => a + b, 0);
    let tp = 0;
    let fp = 0;
    let area = 0;
    const curve: [number, number][] = [[0, 0]];
    const every = Math.max(1, Math.floor(this.bins / 200));
    for (let b = this.bins - 1; b >= 0; b--) {
      const dp = this.positive[b]!;
      const dn = this.negative[b]!;
      area += dn * (tp + dp / 2); // negatives in this bin beat the positives above, and tie half with those inside
      tp += dp;
      fp += dn;
      if (b % every === 0 && (dp || dn)) curve.push([fp / N, tp / P]);
    }
    curve.push([1, 1]);
    return { auroc: P && N ? area / (P * N) : NaN, curve, positives: P, negatives: N };
  }
}

export function precisionRecallF1(predicted: readonly boolean[], actual: readonly boolean[]) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  predicted.forEach((p, i) => {
    if (p && actual[i]) tp++;
    else if (p) fp++;
    else if (actual[i]) fn++;
    else tn++;
  });
  const precision = tp + fp ? tp / (tp + fp) : NaN;
  const recall = tp + fn ? tp / (tp + fn) : NaN;
  return { tp, fp, fn, tn, precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : NaN };
}
