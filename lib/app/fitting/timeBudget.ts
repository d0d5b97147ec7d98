import { TimeBudgetError } from "../../errors";

/** Time kept back for what follows the computation: the S3 writes and the response. */
export const WRITE_MARGIN_MS = 3000;

/**
 * The greedy coreset's cost, ms, for `rows` x `dim` patch embeddings: measured 0.82 s for
 * 20 ViT images (20480 x 1152) on 2 vCPUs (npm run bench), i.e. ~3.5e-5 ms per value; 5e-5 here
 * for headroom.
 */
export function coresetEstimateMs(rows: number, dim: number): number {
  return rows * dim * 5e-5;
}

/**
 * Fails before any write when the projected work cannot finish in the caller's remaining time
 * (a Lambda cut by its timeout would answer a bare 504 after half the work). `projectedMs` is
 * what is still to do; the error says how big the job is and what to do instead.
 */
export function checkTimeBudget(what: string, projectedMs: number, remainingMs: number, advice: string): void {
  if (projectedMs + WRITE_MARGIN_MS <= remainingMs) return;
  throw new TimeBudgetError(
    `${what} needs about ${(projectedMs / 1000).toFixed(1)} s more, and this function has ${(remainingMs / 1000).toFixed(1)} s left ` +
      `(less ${WRITE_MARGIN_MS / 1000} s kept for storing the result): ${advice}. Nothing was stored.`,
  );
}
