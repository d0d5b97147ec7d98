import {
  basisDeviationF64,
  candidateDots,
  centredQueries,
  memoryAugRows,
  nearestSquaredL2Normalised,
  shortlist,
  type ShortlistInputs,
} from "../../onnx/kernels";
import type { MemoryBank } from "../memoryBank";
import type { NearestNeighbourScorer } from "./scorer";
import { findShortlistBasis, MAX_BASIS_DEVIATION, type ShortlistBasis } from "./shortlistBasis";

const { max, min, sqrt } = Math;

/**
 * Two-stage exact nearest neighbour: a cheap shortlist of lower bounds, then an exact re-rank that
 * stops as soon as no other row can be nearer. The answer is the brute-force answer (distances in
 * float64 from the float32 vectors), not an approximation: the shortlist only decides how few
 * rows need the full 1152-d distance.
 *
 * Stage 1 (onnxruntime, shortlistGraph in lib/onnx/kernels.ts): the bank is centred and projected
 * on its top `rank` principal directions (a randomised range finder on a sample of rows, found at
 * fit and stored with the memory: ./shortlistBasis.ts); each row keeps [projection, norm of what
 * the projection misses] (rank + 1 numbers), each query likewise. For a query q and a row m,
 *   LB(q, m) = ||P^T(q - m)||^2 + (|r_q| - |r_m|)^2  <=  ||q - m||^2
 * since ||q - m||^2 = ||P^T(q - m)||^2 + |r_q|^2 + |r_m|^2 - 2 r_q.r_m and r_q.r_m <= |r_q||r_m|.
 * One Gemm (rank + 1 deep instead of D) and a TopK give each query its `shortlist` rows of
 * smallest LB, ascending.
 *
 * Stage 2: candidates in ascending LB. The first `gathered` (8) are gathered and dotted with the
 * query on onnxruntime in one batched run (float32: they only order and prune); the rest, and the
 * float32 distances that may be the nearest, are computed in float64 in JavaScript on the typed
 * arrays (a handful per query: 1152 multiply-adds each, ~1-2 us; a second onnxruntime run would
 * cost more than it saves for so few, measured: npm run bench, knn section, "re-rank in JS only").
 * Candidates are taken until the next LB, less a rounding margin, is no smaller than an upper
 * bound on the nearest distance found: then no row, in the shortlist or not, can be nearer, and
 * the query is certified.
 *
 * A query whose shortlist runs out first is settled exactly: the exact float32 graph's nearest row
 * gives a float64 upper bound, a 2048-row shortlist is re-ranked from it, and what is still
 * uncertified is brute force in float64. So the result never depends on the data being friendly;
 * the speed does: a bank without low-rank structure (isotropic noise) leaves most queries
 * uncertified, and then the call, and the next 32, are brute force (kind "exact").
 *
 * Measured on ViT-S/14-shaped features of the bench images (1024 queries x 1152-d), on a 2-core
 * AVX2 machine: 1.8-2.6x faster than brute force at 10k rows, 3.0-4.3x at 51k, 100 % of patches
 * equal to float64 brute force (npm run bench, knn section, 2026-11-25).
 *
 * Exact duplicate rows are dropped from the shortlist (they cannot change a nearest distance), so
 * a bank with many copies of one row does not exhaust the shortlists with ties.
 */
export interface TwoStageParams {
  /** Principal directions kept (the Gemm is rank + 1 deep). */
  readonly rank: number;
  /** Candidates per query from stage 1 (TopK's k). */
  readonly shortlist: number;
  /** Rows sampled to find the principal directions (all rows if the bank is smaller). */
  readonly sampleRows: number;
  /** Power iterations of the randomised range finder (more: directions closer to the exact PCA). */
  readonly powerIterations: number;
  /** Memory rows per onnxruntime run of stage 1 (bounds the [n, block] matrix). */
  readonly block: number;
  /** Candidates per query whose dot products are computed on onnxruntime (float32) before any in JavaScript. */
  readonly gathered: number;
  readonly seed: number;
}

export const DEFAULT_TWO_STAGE: TwoStageParams = { rank: 160, shortlist: 32, sampleRows: 2048, powerIterations: 1, block: 16384, gathered: 8, seed: 7 };

/**
 * Slack on a lower bound for float32 rounding in stage 1 (the query normalised and centred in
 * float64 and rounded once, projected, the residual norm from the residual itself, a Gemm of
 * rank + 1 terms) and for a basis up to MAX_BASIS_DEVIATION from orthonormal: this factor times
 * |q'|^2 + max |m'|^2, the centred squared norms the bound is computed from. Every one of those
 * errors is proportional to that scale (which is why the residual norm is not taken as
 * sqrt(|c|^2 - |p|^2), see residualNorm in lib/onnx/kernels.ts, and why the query is not
 * normalised in float32, see centredQueries). A float32 Gemm of K terms errs by at most ~K x 6e-8
 * of it (1e-5 for K = 161, worst case; typically 100 times less); the factor leaves 2x on the
 * worst case. A query whose nearest distance is below it cannot be certified (tiny distances,
 * near-copies) and goes to the exact fallback.
 */
export const LOWER_BOUND_MARGIN = 2e-5;

/**
 * Slack on a float32 distance from stage 2's onnxruntime dot products, |q^|^2 - 2 q^.m + |m|^2
 * (not centred: up to ~1152 x 6e-8 of |m|^2 in the worst case), times max(1, max |m|^2). It only
 * decides which candidates are recomputed in float64; the certificate uses float64 distances.
 */
export const DOT_MARGIN = 1e-4;

/** Candidates per query in the widened shortlist of the fallback (before brute force in float64). */
const WIDE_SHORTLIST = 2048;

/** Share of a call's queries that cannot be certified above which the call (and the next ones) are brute force. */
const UNFRIENDLY_SHARE = 0.5;
/** Calls scored by brute force after an unfriendly one, before the shortlist is tried again. */
const EXACT_CALLS_AFTER_UNFRIENDLY = 32;

/** What one `distances` call did (for the bench and the tests). */
export interface TwoStageStats {
  readonly queries: number;
  /** Candidate dot products computed on onnxruntime (float32, `gathered` per query). */
  readonly gatheredEvaluations: number;
  /** Distances computed in float64 in stage 2, all queries together. */
  readonly exactEvaluations: number;
  /** Queries whose shortlist could not certify the nearest row: settled by the exact graph and a wider shortlist. */
  readonly fallbackQueries: number;
  /** Of those, queries that needed a float64 brute force over the whole bank. */
  readonly bruteForcedQueries: number;
  /** Wall time of stage 1 (onnxruntime), of the candidates' dot products (onnxruntime), of stage 2 (JavaScript) and of the fallback, ms. */
  readonly shortlistMs: number;
  readonly gatherMs: number;
  readonly rerankMs: number;
  /** CPU time of stage 2 (single-threaded: its wall time on an idle machine), ms. */
  readonly rerankCpuMs: number;
  readonly fallbackMs: number;
}

export class TwoStageScorer implements NearestNeighbourScorer {
  /** The search that scored the latest call: "exact" while the bank is scored by brute force (see `search`). */
  get kind(): "two_stage" | "exact" {
    return this.lastKind;
  }
  private lastKind: "two_stage" | "exact" = "two_stage";
  /** Calls left to score by brute force before the shortlist is tried again. */
  private exactCallsLeft = 0;
  /** Statistics of the latest `distances` call. */
  lastStats: TwoStageStats = {
    queries: 0,
    gatheredEvaluations: 0,
    exactEvaluations: 0,
    fallbackQueries: 0,
    bruteForcedQueries: 0,
    shortlistMs: 0,
    gatherMs: 0,
    rerankMs: 0,
    rerankCpuMs: 0,
    fallbackMs: 0,
  };

  private constructor(
    private readonly bank: MemoryBank,
    private readonly threads: number,
    private readonly params: TwoStageParams,
    private readonly inputs: ShortlistInputs,
    /** Bank row of each shortlisted (distinct) row. */
    private readonly rowOf: Int32Array,
    /** ||row||^2 of every bank row, float64. */
    private readonly rowSquared: Float64Array,
    /** Rounding slack on float32 distances: DOT_MARGIN x max(1, largest squared row norm). */
    private readonly dotMargin: number,
    /** Largest |m'|^2 of the shortlist rows (the bounds' rounding scale, with |q'|^2). */
    private readonly largestAugSquared: number,
  ) {}

  /** Number of distinct rows the shortlist searches. */
  get distinctRows(): number {
    return this.rowOf.length;
  }

  /**
   * The scorer of `bank`. `stored`: the basis its fit stored with it (lib/store/npz.ts), used when
   * it has the rank asked for and passes the orthonormality check; otherwise one is found now.
   */
  static async build(bank: MemoryBank, threads: number, params: TwoStageParams = DEFAULT_TWO_STAGE, stored?: ShortlistBasis): Promise<TwoStageScorer> {
    const timings: Record<string, number> = {};
    let mark = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      timings[name] = now - mark;
      mark = now;
    };
    const { dim, embeddings } = bank;
    const rowOf = distinctRows(embeddings, bank.count, dim);
    const u = rowOf.length;
    const rowSquared = squaredNorms(embeddings, bank.count, dim);
    lap("distinct_rows_and_norms");

    const usable = stored !== undefined && (await usableBasis(stored, dim, min(params.rank, dim), threads));
    const { mean, basis, rank } = usable ? stored : await findShortlistBasis(embeddings, rowOf, dim, params, threads);
    lap(usable ? "basis_check" : "basis");

    // each row centred, projected, and the norm of what the projection misses, on onnxruntime in
    // blocks of rows (bounds the graph's [block, D] intermediates)
    const r1 = rank + 1;
    const memoryAug = new Float32Array(u * r1);
    const memoryAugSqNorms = new Float32Array(u);
    for (let start = 0; start < u; start += PROJECTION_BLOCK) {
      const rows = rowOf.subarray(start, min(u, start + PROJECTION_BLOCK));
      const { aug, augSquared } = await memoryAugRows(embeddings, dim, rows, mean, basis, rank, threads);
      memoryAug.set(aug, start * r1);
      memoryAugSqNorms.set(augSquared, start);
    }
    lap("projection");
    let largest = 1;
    for (let r = 0; r < bank.count; r++) largest = max(largest, rowSquared[r]!);
    let largestAug = 0;
    for (let j = 0; j < u; j++) largestAug = max(largestAug, memoryAugSqNorms[j]!);
    const scorer = new TwoStageScorer(
      bank,
      threads,
      { ...params, rank },
      { mean, basis, rank, memoryAug, memoryAugSqNorms },
      rowOf,
      rowSquared,
      DOT_MARGIN * largest,
      largestAug,
    );
    scorer.buildTimings = timings;
    scorer.basisSource = usable ? "stored" : "found";
    return scorer;
  }

  /** Wall time of the build's phases, ms (for the bench). */
  buildTimings: Record<string, number> = {};
  /** Whether the basis came with the memory or was found when the scorer was built. */
  basisSource: "stored" | "found" = "found";

  async distances(queries: Float32Array): Promise<Float32Array> {
    const { squared } = await this.search(queries);
    const out = new Float32Array(squared.length);
    for (let i = 0; i < squared.length; i++) out[i] = squared[i]! > 0 ? sqrt(squared[i]!) : 0;
    return out;
  }

  /** Squared distance (float64) and bank row of each query's nearest row (queries L2-normalised, as in `distances`). */
  async search(queries: Float32Array): Promise<{ squared: Float64Array; index: Int32Array }> {
    const { dim, embeddings } = this.bank;
    const n = queries.length / dim;
    if (!Number.isInteger(n)) throw new RangeError(`two-stage: ${queries.length} values is not rows of ${dim}`);
    const { rowOf, rowSquared } = this;
    const squared = new Float64Array(n).fill(Infinity);
    const index = new Int32Array(n).fill(-1);
    const all = Int32Array.from({ length: n }, (_, i) => i);
    if (this.exactCallsLeft > 0) {
      this.exactCallsLeft--;
      return this.bruteForce(queries, all, squared, index, 0);
    }
    const t0 = performance.now();
    const list = await this.shortlists(queries, this.params.shortlist);
    const t1 = performance.now();
    const { candidates, width, floors, querySquared } = list;
    const e = min(this.params.gathered, width);
    const firstCandidates = new Int32Array(n * e);
    for (let i = 0; i < n; i++) firstCandidates.set(candidates.subarray(i * width, i * width + e), i * e);
    const dots = e > 0 ? await candidateDots(queries, dim, embeddings, rowOf, firstCandidates, e, this.threads) : new Float32Array(0);
    const t2 = performance.now();
    const cpu2 = process.cpuUsage();
    // A bank whose lower bounds are loose for these queries (no low-rank structure: isotropic
    // noise, say) would leave most queries uncertified: then brute force for all of them at once,
    // and for the next calls too (a re-rank that ends in brute force costs both).
    let hopeless = 0;
    for (let i = 0; i < n && e > 0; i++) {
      let nearest = Infinity;
      for (let c = 0; c < e; c++) nearest = min(nearest, rowSquared[rowOf[firstCandidates[i * e + c]!]!]! - 2 * dots[i * e + c]!);
      if (nearest + 1 - this.dotMargin > floors[i]! + this.boundMargin(querySquared[i]!)) hopeless++;
    }
    if (hopeless > UNFRIENDLY_SHARE * n) {
      this.exactCallsLeft = EXACT_CALLS_AFTER_UNFRIENDLY;
      return this.bruteForce(queries, all, squared, index, t2 - t0);
    }

    const fallback: number[] = [];
    const counts = { evaluations: 0 };
    for (let i = 0; i < n; i++) {
      if (!this.rerank(queries, i, list, i, dots.subarray(i * e, i * e + e), squared, index, counts)) fallback.push(i);
    }
    const t3 = performance.now();
    const cpu3 = process.cpuUsage(cpu2);

    if (fallback.length > UNFRIENDLY_SHARE * n) this.exactCallsLeft = EXACT_CALLS_AFTER_UNFRIENDLY;
    const bruteForced = await this.settle(queries, Int32Array.from(fallback), squared, index, counts);
    this.lastKind = "two_stage";
    this.lastStats = {
      queries: n,
      gatheredEvaluations: n * e,
      exactEvaluations: counts.evaluations,
      fallbackQueries: fallback.length,
      bruteForcedQueries: bruteForced,
      shortlistMs: t1 - t0,
      gatherMs: t2 - t1,
      rerankMs: t3 - t2,
      rerankCpuMs: (cpu3.user + cpu3.system) / 1000,
      fallbackMs: performance.now() - t3,
    };
    return { squared, index };
  }

  /** The bounds' rounding slack for a query of centred squared norm `querySquared`. */
  private boundMargin(querySquared: number): number {
    return LOWER_BOUND_MARGIN * (querySquared + this.largestAugSquared);
  }

  /**
   * Stage 2 for query `i` (row `at` of `list`): candidates in ascending bound; the first
   * `dots.length` by their float32 distance, the others in float64; stops when the next bound,
   * less its margin, reaches an upper bound on the nearest distance. The float32 distances that
   * may be the nearest are recomputed in float64. `squared[i]`/`index[i]` may already hold a
   * float64 distance (an upper bound to start from) and are lowered to what is found.
   * @returns whether the query is certified: no row outside what was evaluated can be nearer
   */
  private rerank(
    queries: Float32Array,
    i: number,
    list: Shortlists,
    at: number,
    dots: Float32Array,
    squared: Float64Array,
    index: Int32Array,
    counts: { evaluations: number },
  ): boolean {
    const { dim, embeddings } = this.bank;
    const { rowOf, rowSquared, dotMargin } = this;
    const { bounds, candidates, width, floors, querySquared } = list;
    const margin = this.boundMargin(querySquared[at]!);
    const base = i * dim;
    // the exact graph's normalisation q / max(|q|, 1e-12), in float64: |q^|^2 - 2 q^.m + |m|^2
    let qq = 0;
    for (let d = base, end = base + dim; d < end; d++) qq += queries[d]! * queries[d]!;
    const inv = 1 / max(sqrt(qq), 1e-12);
    const unitSquared = qq * inv * inv;
    let best = squared[i]!;
    let bestRow = index[i]!;
    // an upper bound on the nearest squared distance so far (a float32 distance plus its margin, or a float64 one)
    let bestAbove = best;
    let certified = false;
    const e = dots.length;
    let t = 0;
    for (; t < width; t++) {
      const bound = bounds[at * width + t]!;
      if (bound - margin >= bestAbove) {
        certified = true;
        break;
      }
      if (bound === Infinity) break;
      if (t < e) {
        const d = unitSquared - 2 * dots[t]! + rowSquared[rowOf[candidates[at * width + t]!]!]!;
        if (d + dotMargin < bestAbove) bestAbove = d + dotMargin;
      } else {
        const row = rowOf[candidates[at * width + t]!]!;
        if (row === bestRow) continue;
        const d = unitSquared - 2 * inv * dot(queries, base, embeddings, row * dim, dim) + rowSquared[row]!;
        counts.evaluations++;
        if (d < best) {
          best = d;
          bestRow = row;
        }
        if (d < bestAbove) bestAbove = d;
      }
    }
    // the float32 distances that may be the nearest: again in float64
    for (let c = 0; c < min(t, e); c++) {
      const row = rowOf[candidates[at * width + c]!]!;
      if (row === bestRow || unitSquared - 2 * dots[c]! + rowSquared[row]! - dotMargin > bestAbove) continue;
      const d = unitSquared - 2 * inv * dot(queries, base, embeddings, row * dim, dim) + rowSquared[row]!;
      counts.evaluations++;
      if (d < best) {
        best = d;
        bestRow = row;
      }
    }
    if (!certified && best <= floors[at]! - margin) certified = true;
    // |q|^2 - 2 q.m + |m|^2 cancels for near-copies: their distance again, from the differences
    if (best < NEAR && bestRow >= 0) best = directSquared(queries, base, inv, embeddings, bestRow * dim, dim);
    squared[i] = best;
    index[i] = bestRow;
    return certified;
  }

  /**
   * The queries `which` that stage 2 could not certify, exactly: the exact float32 graph's nearest
   * row gives a float64 upper bound; a shortlist of WIDE_SHORTLIST rows per query is re-ranked
   * from it; what is still uncertified is brute force in float64 (the float32 graph alone can
   * misorder rows whose distances differ by less than its rounding, e.g. near-copies).
   * @returns how many queries needed the float64 brute force
   */
  private async settle(queries: Float32Array, which: Int32Array, squared: Float64Array, index: Int32Array, counts: { evaluations: number }): Promise<number> {
    if (which.length === 0) return 0;
    const { dim, embeddings } = this.bank;
    await this.scoreExactly(queries, which, squared, index);
    const subset = new Float32Array(which.length * dim);
    which.forEach((i, f) => subset.set(queries.subarray(i * dim, (i + 1) * dim), f * dim));
    const wide = await this.shortlists(subset, WIDE_SHORTLIST);
    let bruteForced = 0;
    for (let f = 0; f < which.length; f++) {
      const i = which[f]!;
      if (this.rerank(queries, i, wide, f, new Float32Array(0), squared, index, counts)) continue;
      bruteForced++;
      let qq = 0;
      for (let d = i * dim, end = d + dim; d < end; d++) qq += queries[d]! * queries[d]!;
      const inv = 1 / max(sqrt(qq), 1e-12);
      for (let row = 0; row < this.bank.count; row++) {
        const d = directSquared(queries, i * dim, inv, embeddings, row * dim, dim);
        if (d < squared[i]!) {
          squared[i] = d;
          index[i] = row;
        }
      }
    }
    return bruteForced;
  }

  /** Brute force for every query (this call scored exactly): stats and kind say so. */
  private async bruteForce(
    queries: Float32Array,
    all: Int32Array,
    squared: Float64Array,
    index: Int32Array,
    shortlistMs: number,
  ): Promise<{ squared: Float64Array; index: Int32Array }> {
    const start = performance.now();
    await this.scoreExactly(queries, all, squared, index);
    this.lastKind = "exact";
    this.lastStats = {
      queries: all.length,
      gatheredEvaluations: 0,
      exactEvaluations: 0,
      fallbackQueries: all.length,
      bruteForcedQueries: 0,
      shortlistMs,
      gatherMs: 0,
      rerankMs: 0,
      rerankCpuMs: 0,
      fallbackMs: performance.now() - start,
    };
    return { squared, index };
  }

  /**
   * The queries `which` by the exact onnxruntime graph over the whole bank (float32 brute force);
   * the row it finds gets its float64 distance, kept if nearer than what `squared` holds.
   */
  private async scoreExactly(queries: Float32Array, which: Int32Array, squared: Float64Array, index: Int32Array): Promise<void> {
    if (which.length === 0) return;
    const { dim, embeddings } = this.bank;
    const subset = new Float32Array(which.length * dim);
    which.forEach((i, f) => subset.set(queries.subarray(i * dim, (i + 1) * dim), f * dim));
    const exact = await nearestSquaredL2Normalised(subset, embeddings, dim, this.threads, true);
    which.forEach((i, f) => {
      const row = exact.index![f]!;
      let qq = 0;
      for (let d = i * dim, end = d + dim; d < end; d++) qq += queries[d]! * queries[d]!;
      const inv = 1 / max(sqrt(qq), 1e-12);
      let d = qq * inv * inv - 2 * inv * dot(queries, i * dim, embeddings, row * dim, dim) + this.rowSquared[row]!;
      if (d < NEAR) d = directSquared(queries, i * dim, inv, embeddings, row * dim, dim);
      if (d < squared[i]!) {
        squared[i] = d;
        index[i] = row;
      }
    });
  }

  /**
   * Stage 1 over the shortlist rows in blocks, merged per query: `width` candidates (shortlist rows)
   * in ascending bound (padded with +Infinity), and `floors`: a lower bound for every row in no list.
   */
  private async shortlists(queries: Float32Array, k: number): Promise<Shortlists> {
    const { dim } = this.bank;
    const n = queries.length / dim;
    const u = this.rowOf.length;
    const centred = centredQueries(queries, dim, this.inputs.mean);
    const blocks = [];
    for (let start = 0; start < u; start += this.params.block) {
      const rows = min(this.params.block, u - start);
      blocks.push({ ...(await shortlist(centred, dim, this.inputs, start, rows, k, this.threads)), start, rows });
    }
    const floors = new Float32Array(n).fill(Infinity);
    const { querySquared } = blocks[0]!;
    if (blocks.length === 1) {
      const [{ lowerBounds, candidates, k: width, rows }] = blocks as [(typeof blocks)[number]];
      if (width < rows) for (let i = 0; i < n; i++) floors[i] = lowerBounds[i * width + width - 1]!;
      return { bounds: lowerBounds, candidates, width, floors, querySquared };
    }
    const width = blocks.reduce((w, b) => w + b.k, 0);
    const bounds = new Float32Array(n * width).fill(Infinity);
    const candidates = new Int32Array(n * width);
    const cursors = new Int32Array(blocks.length);
    for (let i = 0; i < n; i++) {
      for (const block of blocks) if (block.k < block.rows) floors[i] = min(floors[i]!, block.lowerBounds[i * block.k + block.k - 1]!);
      cursors.fill(0);
      for (let t = 0; t < width; t++) {
        let pick = -1;
        let bound = Infinity;
        for (let b = 0; b < blocks.length; b++) {
          const block = blocks[b]!;
          if (cursors[b]! < block.k && (pick < 0 || block.lowerBounds[i * block.k + cursors[b]!]! < bound)) {
            pick = b;
            bound = block.lowerBounds[i * block.k + cursors[b]!]!;
          }
        }
        const block = blocks[pick]!;
        bounds[i * width + t] = bound;
        candidates[i * width + t] = block.start + block.candidates[i * block.k + cursors[pick]!]!;
        cursors[pick]! += 1;
      }
    }
    return { bounds, candidates, width, floors, querySquared };
  }
}

/** Stage 1's result for n queries: `width` candidates each in ascending bound (padded with +Infinity). */
interface Shortlists {
  readonly bounds: Float32Array;
  /** Shortlist rows (indices into rowOf). */
  readonly candidates: Int32Array;
  readonly width: number;
  /** A lower bound for every row in no list, per query. */
  readonly floors: Float32Array;
  /** |q'|^2 per query. */
  readonly querySquared: Float32Array;
}

/** Below this squared distance the result is recomputed from the coordinates' differences (float64 cancellation). */
const NEAR = 1e-3;

/** ||q * inv - m||^2 in float64 for q = queries[qBase ..], m = memory[mBase ..]. */
function directSquared(queries: Float32Array, qBase: number, inv: number, memory: Float32Array, mBase: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) {
    const v = queries[qBase + d]! * inv - memory[mBase + d]!;
    s += v * v;
  }
  return s;
}

/** a[aBase ..] . b[bBase ..] over `dim` values, in float64 with four partial sums (V8 keeps them in registers). */
function dot(a: Float32Array, aBase: number, b: Float32Array, bBase: number, dim: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 3 < dim; d += 4) {
    s0 += a[aBase + d]! * b[bBase + d]!;
    s1 += a[aBase + d + 1]! * b[bBase + d + 1]!;
    s2 += a[aBase + d + 2]! * b[bBase + d + 2]!;
    s3 += a[aBase + d + 3]! * b[bBase + d + 3]!;
  }
  for (; d < dim; d++) s0 += a[aBase + d]! * b[bBase + d]!;
  return s0 + s1 + s2 + s3;
}

/**
 * Indices of the distinct rows of `data` [rows, dim] (first occurrence of each), by a hash of a
 * few spread columns and a full comparison within a bucket.
 */
export function distinctRows(data: Float32Array, rows: number, dim: number): Int32Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const step = max(1, Math.floor(dim / 16));
  const buckets = new Map<number, number[]>();
  const keep: number[] = [];
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    let h = 0x811c9dc5;
    for (let d = 0; d < dim; d += step) h = Math.imul(h ^ bits[base + d]!, 0x01000193);
    const bucket = buckets.get(h);
    if (bucket === undefined) {
      buckets.set(h, [r]);
      keep.push(r);
      continue;
    }
    const duplicate = bucket.some((other) => {
      const o = other * dim;
      for (let d = 0; d < dim; d++) if (bits[base + d] !== bits[o + d]) return false;
      return true;
    });
    if (!duplicate) {
      bucket.push(r);
      keep.push(r);
    }
  }
  return Int32Array.from(keep);
}

/** The basis the two-stage search would find for `bank` (a fit stores it with the memory: see ShortlistBasis). */
export function findBankBasis(bank: MemoryBank, threads: number, params: TwoStageParams = DEFAULT_TWO_STAGE): Promise<ShortlistBasis> {
  return findShortlistBasis(bank.embeddings, distinctRows(bank.embeddings, bank.count, bank.dim), bank.dim, params, threads);
}

/** Whether a stored basis fits this bank: its shapes, the rank asked for, orthonormal rows (MAX_BASIS_DEVIATION). */
async function usableBasis(stored: ShortlistBasis, dim: number, rank: number, threads: number): Promise<boolean> {
  if (stored.rank !== rank || stored.mean.length !== dim || stored.basis.length !== rank * dim || !stored.mean.every(Number.isFinite)) return false;
  return (await basisDeviationF64(stored.basis, rank, dim, threads)) <= MAX_BASIS_DEVIATION;
}

/** Memory rows per onnxruntime run of the build's projection (bounds its [rows, D] intermediates: 4096 x 1152 floats, 19 MB each, 38 MB in float64). */
const PROJECTION_BLOCK = 4096;

/** ||row||^2 of each row of `data` [rows, dim], float64. */
function squaredNorms(data: Float32Array, rows: number, dim: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s0 = 0;
    let s1 = 0;
    let d = r * dim;
    const end = d + dim;
    for (; d + 1 < end; d += 2) {
      s0 += data[d]! * data[d]!;
      s1 += data[d + 1]! * data[d + 1]!;
    }
    if (d < end) s0 += data[d]! * data[d]!;
    out[r] = s0 + s1;
  }
  return out;
}
