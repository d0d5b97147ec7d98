import type { Config } from "../config";

/**
 * Wall time of a fan-out of `images` in chunks of `chunkImages`, `width` at a time: waves of
 * invocations, each an image estimate per image plus the invocation's overhead, plus `tailMs`
 * for what the coordinator does after (merge, writes).
 */
export function fanOutEstimateMs(fanOut: Config["fanOut"], images: number, chunkImages: number, tailMs: number): number {
  const chunks = Math.ceil(images / chunkImages);
  const waves = Math.ceil(chunks / fanOut.width);
  return waves * (Math.min(images, chunkImages) * fanOut.imageEstimateMs + fanOut.invokeOverheadMs) + tailMs;
}

/** Time kept beyond a fan-out's estimate for answering within the request itself (merging, writes, the answer), ms. */
const IN_REQUEST_MARGIN_MS = 5000;

/**
 * Whether work estimated at `estimateMs` is answered within the request (200, as the old backend
 * did) or becomes a job (202): it must fit SYNC_BUDGET_MS and the function's remaining time.
 */
export function answersInRequest(fanOut: Config["fanOut"], estimateMs: number, remainingMs: number): boolean {
  return estimateMs <= fanOut.syncBudgetMs && estimateMs + IN_REQUEST_MARGIN_MS <= remainingMs;
}
