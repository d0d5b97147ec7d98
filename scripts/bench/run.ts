/**
 * `npm run bench`: the product's performance figures, measured on this machine.
 * Prints markdown tables and writes bench-results/bench-<timestamp>.json.
 * Options: --runs N (default 20), --quick (fewer runs and sizes: a smoke check, not figures to quote),
 * --only a,b (sections: extraction, inference, coreset, knn, int8, ort, http, ops, fanout, twostage; cost =
 * inference, whose durations it prices; oldbackend, only when named: the same-run comparison with
 * the old Python backend, --old-backend <its checkout> --old-venv <folder made by
 * scripts/bench/oldBackend/setup.sh>).
 *
 * Sections: feature extraction stages; warm /infer by stage (the inspect use case in-process, S3
 * on an embedded s3rver) with total / forward; cold start; fit for 1/5/20/50 images; the coreset
 * alone; kNN: exact vs the two-stage search, its alternatives and HNSW; the int8 model against
 * fp32 on the same images; onnxruntime settings; warm /infer through HTTP (serverless-offline);
 * peak RSS; log bytes per request and a bundled function's INIT (ops: --ops-root <checkout> measures
 * another checkout too, interleaved); the estimated AWS cost per 1000 inferences and per fit of 20 images
 * (scripts/bench/cost.ts); dataset fits and /infer_dataset fanned out over workers with the AWS
 * wall-time estimate (fanout: --fanout-width, --fanout-vit-batch); two-stage vs single-pass
 * coreset on the shared dataset (twostage: --dataset).
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { kCenterGreedy } from "../../lib/patchcore/coreset";
import { startLocalS3 } from "../local/s3Server";
import { S3RVER_CREDENTIALS } from "../local/s3Server";
import { clusteredRows } from "../synthetic/clustered";
import { readFileSync } from "node:fs";
import { costLines, costTable, memorySizes, PRICES } from "./cost";
import { benchExtraction, extractionTable } from "./extraction";
import { flag } from "../util/cli";
import { benchFanOut } from "./fanOut";
import { benchHttp } from "./http";
import { benchTwoStage, defaultTwoStageFolder } from "./twoStage";
import { benchInt8, int8Table } from "./int8";
import { benchKnn, knnTable } from "./knn";
import { benchOldBackend } from "./oldBackend";
import { benchOps, opsTable } from "./ops";
import { benchOrtSettings, ortTable } from "./ortSettings";
import { measure, ms, summarise, type Summary } from "./stats";

const root = path.resolve(__dirname, "../..");

function runWorker(mode: "fit" | "infer", env: Record<string, string>, runs: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(root, "node_modules/.bin/tsx"), [path.join(__dirname, "inferWorker.ts"), mode, String(runs)], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (code !== 0 || !line) reject(new Error(`bench worker ${mode} exited ${code}:\n${out.slice(-2000)}`));
      else resolve(JSON.parse(line.slice("BENCH_RESULT ".length)));
    });
  });
}

function inferTable(model: string, result: any): string {
  const lines = [
    `### Warm /infer by stage: ${model}, 448x448 JPEG ROI, real handler in-process, ms p50 / p95`,
    "",
    "Each bank is scored twice per run, interleaved on one ONNX session: with the service's kNN policy (KNN_BACKEND, auto unless set: the column names the search it chose) and with brute force (KNN_BACKEND=exact, the search before the two-stage one). Same process, same machine load: compare columns, not runs.",
    "",
  ];
  const banks = result.banks as any[];
  const columns = banks.flatMap((b) => [
    { title: `${b.bank} (${b.rows} rows): ${b.chosen.knn}`, s: b.chosen },
    { title: `${b.bank}: exact`, s: b.exact },
  ]);
  lines.push(`| stage | ${columns.map((c) => c.title).join(" | ")} |`, `|---|${columns.map(() => "---:").join("|")}|`);
  const stages = [...new Set(columns.flatMap((c) => Object.keys(c.s.stages)))];
  for (const stage of stages)
    lines.push(`| ${stage} | ${columns.map((c) => (c.s.stages[stage] ? `${ms(c.s.stages[stage].p50)} / ${ms(c.s.stages[stage].p95)}` : "")).join(" | ")} |`);
  lines.push(`| **total** | ${columns.map((c) => `**${ms(c.s.total.p50)} / ${ms(c.s.total.p95)}**`).join(" | ")} |`);
  lines.push(
    `| **p50 total / p50 forward** (goal <= 1.10 at 10k, <= 1.25 at 50k) | ${columns.map((c) => `**${c.s.ratioTotalToForward.toFixed(3)}**`).join(" | ")} |`,
  );
  lines.push(
    `| per-request total / forward, p50 / p95 | ${columns.map((c) => `${c.s.perRequestRatio.p50.toFixed(3)} / ${c.s.perRequestRatio.p95.toFixed(3)}`).join(" | ")} |`,
  );
  lines.push(`| S3 GET + .npz decode on a cache miss | ${banks.flatMap((b) => [`${ms(b.s3GetOnMissMs.p50)} / ${ms(b.s3GetOnMissMs.p95)}`, ""]).join(" | ")} |`);
  lines.push(
    `| agreement with exact: image score rel. diff; raw map max rel. diff; same regions | ${banks
      .flatMap((b) => [
        `${b.agreement.scoreRelDiff.toExponential(1)}; ${b.agreement.mapMaxRelDiff.toExponential(1)}; ${b.agreement.sameRegions ? "yes" : "NO"}`,
        "",
      ])
      .join(" | ")} |`,
  );
  const c = result.cold;
  const coldTotal = c.modelLoadMs + c.firstInferMs;
  const limit = c.warmForwardMs + 1000;
  lines.push(
    "",
    `Cold start on ${c.bank} (fresh process; knn ${c.knn}): model load (Lambda INIT) ${ms(c.modelLoadMs)} ms + first /infer ${ms(c.firstInferMs)} ms ` +
      `(memory fetch: S3 GET + .npz decode ${ms(c.memoryFetchMs)} ms, kNN build ${ms(c.knnBuildMs)} ms, then the forward ${ms(c.forwardMs)} ms (a memory not yet in the container loads before the forward), ` +
      `the rest ${ms(c.firstInferMs - c.memoryFetchMs - c.knnBuildMs - c.forwardMs)} ms) = ${ms(coldTotal)} ms; ` +
      `goal: under warm forward + 1 s = ${ms(limit)} ms: ${coldTotal <= limit ? "**met**" : "**missed**"}` +
      ` (first request alone ${c.firstInferMs <= limit ? "under" : "over"} it). Stages: ${JSON.stringify(c.stages)}. ` +
      `Process start to first answer ${ms(c.sinceProcessStartMs)} ms (includes tsx transpiling, which a bundled Lambda does not do). ` +
      `Peak RSS of the process: ${result.peakRssMb.toFixed(0)} MB.`,
  );
  return lines.join("\n");
}

function fitTable(model: string, result: any): string {
  const lines = [
    `### /fit_ok by number of images: ${model}, 448x448 JPEG ROIs, real handler in-process, ms (one run each)`,
    "",
    "| images | patches | coreset | decode | letterbox | forward | coreset | kNN index or basis | S3 put | total |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const f of result.fits as any[]) {
    const s = f.stages_ms;
    lines.push(
      `| ${f.images} | ${f.n_embeddings} | ${f.coreset_size} | ${ms(s.decode)} | ${ms(s.letterbox)} | ${ms(s.forward)} | ${ms(s.coreset)} | ${ms(s.index_build ?? s.knn_basis ?? NaN)} | ${ms(s.s3_put)} | ${ms(f.total_ms)} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const runsFlag = args.indexOf("--runs");
  const runs = runsFlag >= 0 ? Number(args[runsFlag + 1]) : quick ? 5 : 20;
  const modelDir = path.join(root, "layers/runtime/models");
  const cpus = os.cpus();
  const machine = { cpus: cpus.length, cpu: cpus[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  const started = Date.now();
  const print = (text: string) => console.log(text + "\n");
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1]!.split(",") : null;
  const want = (section: string) => only === null || only.includes(section);
  print(
    `# Benchmark (${machine.cpus} cores, ${machine.cpu}, Node ${machine.node}, ${runs} runs; command: npm run bench${args.length ? " -- " + args.join(" ") : ""})`,
  );

  const results: Record<string, unknown> = { when: new Date().toISOString(), command: `npm run bench ${args.join(" ")}`.trim(), machine, runs };

  if (want("extraction")) {
    const extraction = [];
    for (const model of ["texture-s14", "vit-s14-shape"]) for (const threads of [1, 2]) extraction.push(await benchExtraction(modelDir, model, threads, runs));
    extraction.push(await benchExtraction(modelDir, "vit-s14-shape-int8", 2, runs));
    results.extraction = extraction;
    print(extractionTable(extraction));
  }

  if (want("inference") || want("cost")) {
    await benchInference(runs, results, print);
    const memory = memorySizes(readFileSync(path.join(root, "serverless.yml"), "utf8"));
    const lines = costLines(results.inference as Record<string, unknown>, memory);
    results.cost = { prices: PRICES, memoryMb: { infer: memory.infer, fitOk: memory.fitOk }, lines };
    print(costTable(lines));
  }

  if (want("coreset")) {
    const coresetRows = clusteredRows(20 * 1024, 1152, 200, 0.6, 9);
    const coreset: Summary = summarise(await measure(3, 1, () => kCenterGreedy(coresetRows, 1152, { rate: 0.02, seed: 0, projectionDim: 128, threads: 2 })));
    results.coreset = { rows: 20 * 1024, dim: 1152, rate: 0.02, ms: coreset };
    print(
      `### Coreset alone: 20 x 1024 patches x 1152-d, rate 0.02 (410 picks, projection to 128-d, covering radius in full dimension): p50 ${ms(coreset.p50)} ms, p95 ${ms(coreset.p95)} ms (3 runs)`,
    );
  }

  if (want("knn")) {
    const knn = await benchKnn({
      modelDir,
      clusteredDims: quick ? [384] : [384, 1152],
      clusteredBanks: quick ? [1000, 10000] : [1000, 10000, 50000],
      vitBanks: quick ? [1024, 10240] : [1024, 2048, 4096, 10240, 51200],
      threads: 2,
      runs,
      efs: [16, 64, 200],
    });
    results.knn = knn;
    print(knnTable(knn));
  }

  if (want("int8")) {
    const int8 = await benchInt8(modelDir, "vit-s14-shape", "vit-s14-shape-int8", 2, runs);
    results.int8 = int8;
    print(int8Table(int8));
  }

  if (want("ort")) {
    const ort = await benchOrtSettings(modelDir, runs);
    results.ortSettings = ort;
    print(ortTable(ort));
  }

  if (want("http")) {
    const http = [];
    for (const model of ["texture-s14", "vit-s14-shape"]) http.push(await benchHttp(root, runs, model));
    results.http = http;
    print(
      [
        "### Warm /infer through HTTP (serverless-offline + s3rver, 1k bank), ms",
        "",
        "| model | p50 | p95 |",
        "|---|---:|---:|",
        ...http.map((h) => `| ${h.model} | ${ms(h.warmInfer.p50)} | ${ms(h.warmInfer.p95)} |`),
      ].join("\n"),
    );
  }

  if (want("ops")) {
    const ops = await benchOps(root, Math.max(5, Math.min(runs, 20)), flag(args, "--ops-root"));
    results.ops = ops;
    print(opsTable(ops));
  }

  if (want("fanout"))
    results.fanout = await benchFanOut(root, {
      quick,
      print,
      localWidth: Number(flag(args, "--fanout-width") ?? 2),
      vitBatchMax: Number(flag(args, "--fanout-vit-batch") ?? 300),
    });

  // opt-in: needs the old backend's checkout and a Python with its requirements (scripts/bench/oldBackend/setup.sh)
  if (only?.includes("oldbackend")) {
    const needed = (name: string) => flag(args, name) ?? fail(`--only oldbackend needs ${name} (see scripts/bench/oldBackend/setup.sh)`);
    const venv = needed("--old-venv");
    results.oldBackend = await benchOldBackend({
      root,
      repo: needed("--old-backend"),
      python: path.join(venv, "bin/python"),
      weightsFile: path.join(venv, "dinov2-vits14-random-seed0.pth"),
      modelDir: path.join(venv, "models"),
      model: "dinov2-vits14-b9-11",
      bankImages: quick ? [1] : [1, 10],
      runs,
      print,
    });
  }

  const twoStageFolder = flag(args, "--dataset") ?? defaultTwoStageFolder(root);
  if (want("twostage"))
    results.twoStage = twoStageFolder
      ? await benchTwoStage(root, { folder: twoStageFolder, models: ["texture-s14", "vit-s14-shape"], seeds: quick ? 1 : 3, print })
      : print("### Two-stage vs single-pass coreset: skipped (no ../shared/datasets/mpdd_metal_plate; --dataset <folder in MVTec layout>)");

  results.peakRssMbBenchProcess = process.resourceUsage().maxRSS / 1024;
  results.seconds = (Date.now() - started) / 1000;
  print(`Peak RSS of the bench process: ${(results.peakRssMbBenchProcess as number).toFixed(0)} MB; bench took ${(results.seconds as number).toFixed(0)} s.`);
  const outDir = path.join(root, "bench-results");
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, `bench-${(results.when as string).replace(/[:.]/g, "-")}.json`);
  await writeFile(file, JSON.stringify(results, null, 2));
  console.log(`wrote ${path.relative(root, file)}`);
}

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

/** Fit and warm/cold /infer per model, each in fresh worker processes against an embedded S3 server. */
async function benchInference(runs: number, results: Record<string, unknown>, print: (text: string) => void): Promise<void> {
  const s3Directory = await mkdtemp(path.join(os.tmpdir(), "bench-s3-"));
  const s3 = await startLocalS3({ directory: s3Directory, bucket: "bench", port: 0 });
  try {
    const inference: Record<string, unknown> = {};
    for (const model of ["vit-s14-shape", "texture-s14"]) {
      const env = {
        MODEL_NAME: model,
        S3_ENDPOINT: s3.endpoint,
        MODELS_BUCKET: "bench",
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        ORT_THREADS: "2",
        LOG_LEVEL: "error",
        METRICS: "on",
        MAX_REQUEST_BYTES: String(64 * 1024 * 1024), // the fit of 50 images is one call here; over HTTP it would be several
        MAX_FILES: "64",
      };
      const fit = await runWorker("fit", env, runs);
      print(fitTable(model, fit));
      const infer = await runWorker("infer", env, runs);
      print(inferTable(model, infer));
      inference[model] = { fit, infer };
    }
    results.inference = inference;
  } finally {
    await s3.close();
    await rm(s3Directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
