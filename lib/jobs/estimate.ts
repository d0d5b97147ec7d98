import type { Config } from "../config";

/**
 * Wall time of a fan-out of `images` in chunks of `chunkImages`, `width` at a time: waves of
 * invocations, each an image estimate per image plus the invocation's overhead, plus `tailMs`
 * for what the coordinator does after (merge, writes).
 */
export function fanOutEstimateMs(jobs: Config["jobs"], images: number, chunkImages: number, tailMs: number): number {
  const chunks = Math.ceil(images / chunkImages);
  const waves = Math.ceil(chunks / jobs.fanOutWidth);
  return waves * (Math.min(images, chunkImages) * jobs.imageEstimateMs + jobs.invokeOverheadMs) + tailMs;
}
