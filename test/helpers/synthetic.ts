import path from "node:path";
import { Worker } from "node:worker_threads";

/** A brushed-metal image of scripts/synthetic/images.ts, with a painted spot (paintSpot's default colour) when given. */
export interface SyntheticImage {
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  readonly spot?: { readonly cx: number; readonly cy: number; readonly r: number };
}

/**
 * The PNGs of `images`, the same bytes as encodePng(brushedMetal(...)) in the test, made in a worker
 * thread: jest runs a test's modules in a vm context, where every read of a global (the synthesis
 * loop's Math.sin, Math.PI) is ~10x slower; a worker thread is outside it. For many or large
 * images (40 of 640x480: ~19 s in the test's context, ~2 s in a worker); a few small ones are
 * cheaper made in place (the worker's start costs ~0.5 s).
 */
export function syntheticPngs(images: readonly SyntheticImage[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, "syntheticWorker.js"), { workerData: images });
    worker.once("message", (made: Uint8Array[]) => resolve(made.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))));
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the synthetic image worker exited (${code}) before answering`)));
  });
}
