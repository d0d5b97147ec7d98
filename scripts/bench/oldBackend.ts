/**
 * Same-run comparison with the old backend (`npm run bench -- --only oldbackend ...`): the old
 * FastAPI app (torch + timm + faiss, unmodified, served by scripts/bench/oldBackend/
 * serve_old_backend.py) and this service over HTTP (serverless-offline + s3rver) with the fp32
 * and int8 ONNX exports of the SAME weights file, all fitted on the same images
 * (memory_fit: the bank is every patch, so all three hold the same rows), then /infer requests
 * interleaved round-robin on one image so every target sees the same machine load. One client
 * (InspectionClient, unvalidated: the old backend's answers lack our additive fields) sends the
 * GUI's multipart requests to all three.
 * Setup (Python venv, weights, exports): scripts/bench/oldBackend/setup.sh.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { InspectionClient } from "../../lib/contract/client";
import { startThrowawayStack, type LocalStack } from "../local/stack";
import { freePort } from "../util/ports";
import { benchDefect, benchImages } from "./benchImages";
import { ms, summarise, type Summary } from "./stats";

export interface OldBackendOptions {
  readonly root: string;
  /** Checkout of the old backend (the folder holding backend/app.py). */
  readonly repo: string;
  /** The Python with the old backend's requirements (setup.sh makes it). */
  readonly python: string;
  readonly weightsFile: string;
  /** Folder with `${model}.onnx` and `${model}-int8.onnx` exported from weightsFile. */
  readonly modelDir: string;
  readonly model: string;
  /** Images per fit: the bank holds images x 1024 rows. */
  readonly bankImages: readonly number[];
  readonly runs: number;
  readonly print: (text: string) => void;
}

interface Target {
  readonly name: string;
  readonly url: string;
  readonly api: InspectionClient;
}

interface BankResult {
  readonly rows: number;
  readonly infer: Record<string, Summary>;
  /** Score of the same image by each target. */
  readonly scores: Record<string, number>;
  /** Our service's `knn` field per model. */
  readonly knn: Record<string, string>;
}

export interface OldBackendResult {
  readonly model: string;
  /** The model each target's /health names. */
  readonly models: Record<string, string>;
  readonly oldBackend: string;
  readonly banks: readonly BankResult[];
}

const OLD = "old backend (torch fp32)";

export async function benchOldBackend(options: OldBackendOptions): Promise<OldBackendResult> {
  const oldModels = await mkdtemp(path.join(os.tmpdir(), "old-backend-models-"));
  const started: { old?: ChildProcess; stacks: LocalStack[] } = { stacks: [] };
  try {
    const oldPort = await freePort();
    started.old = spawn(
      options.python,
      [
        path.join(__dirname, "oldBackend/serve_old_backend.py"),
        "--repo",
        options.repo,
        "--weights-file",
        options.weightsFile,
        "--models-dir",
        oldModels,
        "--port",
        String(oldPort),
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    let spawnError: Error | null = null;
    started.old.on("error", (error) => (spawnError = error)); // e.g. no python at that path
    const oldUrl = `http://127.0.0.1:${oldPort}`;
    const targets: Target[] = [{ name: OLD, url: oldUrl, api: new InspectionClient(oldUrl) }];
    for (const [name, model] of [
      ["this service, fp32", options.model],
      ["this service, int8", `${options.model}-int8`],
    ] as const) {
      const stack = await startThrowawayStack({
        root: options.root,
        bucket: `bench-old-${started.stacks.length}`,
        modelDir: options.modelDir,
        env: { MODEL_NAME: model },
      });
      started.stacks.push(stack);
      targets.push({ name, url: stack.url, api: new InspectionClient(stack.url) });
    }
    await waitForHealth(targets[0]!.url, 300_000, started.old, () => spawnError);
    // the model each target says it runs (the old backend names timm's, whatever the weights)
    const models: Record<string, string> = {};
    for (const target of targets) models[target.name] = (await target.api.health()).ok().model;

    const image = await benchDefect(7);
    const banks: BankResult[] = [];
    for (const images of options.bankImages) {
      const ids = { role_id: "bench", roi_id: `old-${images}`, mm_per_px: 0.1 };
      const fitImages = await benchImages(images, 100);
      for (const target of targets)
        (
          await target.api.fitOk(
            { ...ids, memory_fit: true },
            fitImages.map((data, i) => ({ filename: `ok${i}.jpg`, data })),
          )
        ).ok();
      const scores: Record<string, number> = {};
      const knn: Record<string, string> = {};
      const samples: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
      for (let round = -2; round < options.runs; round++) {
        // round-robin, rotating who goes first, so no target always follows the same one
        for (let k = 0; k < targets.length; k++) {
          const target = targets[(k + Math.max(0, round)) % targets.length]!;
          const t0 = performance.now();
          // the old backend answers /infer without our additive fields (knn among them)
          const reply: { score: number; knn?: string } = (await target.api.infer(ids, { filename: "x.jpg", data: image })).ok();
          const elapsed = performance.now() - t0;
          if (round >= 0) samples[target.name]!.push(elapsed);
          scores[target.name] = Number(reply.score);
          if (typeof reply.knn === "string") knn[target.name] = reply.knn;
        }
      }
      const infer = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, summarise(s)]));
      banks.push({ rows: images * 1024, infer, scores, knn });
    }
    const result = { model: options.model, oldBackend: options.repo, models, banks };
    options.print(oldBackendTable(result, options.runs));
    return result;
  } finally {
    started.old?.kill("SIGTERM");
    for (const stack of started.stacks) await stack.stop();
    await rm(oldModels, { recursive: true, force: true });
  }
}

export function oldBackendTable(result: OldBackendResult, runs: number): string {
  const lines = [
    `### Same run against the old backend: warm /infer over HTTP, identical weights (${result.model}), 448 px JPEG ROI, ${runs} interleaved rounds, ms`,
    "",
    "Old backend: its FastAPI app as it is (torch + timm + faiss, its own thread settings), served by uvicorn. This service: serverless-offline + s3rver, the fp32 export of the same weights file and its int8 quantisation. Both fitted with memory_fit on the same images; each round sends the same image to every target, in rotating order.",
    "",
    "| bank rows | target | p50 | p95 | old p50 / this p50 | score | relative score difference to the old backend | kNN |",
    "|---:|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const bank of result.banks) {
    const old = bank.infer[OLD]!;
    const oldScore = bank.scores[OLD]!;
    for (const [name, s] of Object.entries(bank.infer)) {
      const score = bank.scores[name]!;
      const speedup = name === OLD ? "1" : `**${(old.p50 / s.p50).toFixed(2)}x**`;
      const diff = name === OLD ? "" : (Math.abs(score - oldScore) / Math.abs(oldScore)).toExponential(1);
      lines.push(
        `| ${bank.rows} | ${name} (${result.models[name]}) | ${ms(s.p50)} | ${ms(s.p95)} | ${speedup} | ${score.toPrecision(6)} | ${diff} | ${bank.knn[name] ?? "faiss flat"} |`,
      );
    }
  }
  return lines.join("\n");
}

async function waitForHealth(url: string, timeoutMs: number, child: ChildProcess, spawnError: () => Error | null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const failed = spawnError();
    if (failed) throw new Error(`the old backend could not start: ${failed.message}`);
    if (child.exitCode !== null) throw new Error(`the old backend exited with code ${child.exitCode} before answering /health`);
    try {
      if ((await fetch(url + "/health")).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the old backend did not answer ${url}/health within ${timeoutMs / 1000} s`);
}
