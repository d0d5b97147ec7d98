/**
 * One bench process for one model (env: MODEL_NAME, S3_ENDPOINT, MODELS_BUCKET...), run by
 * scripts/bench/run.ts: fits the benchmark memories through the real fit handler, then in a
 * fresh process measures the cold first /infer and warm ones through the real infer handler,
 * stage by stage. Prints one JSON line.
 * Usage: tsx scripts/bench/inferWorker.ts fit|infer RUNS
 */
import { imageForm } from "../util/cli";
import { benchDefect, benchImages } from "./benchImages";
import { invoke, multipartEvent } from "./lambdaEvent";
import { summarise, type Summary } from "./stats";

const processStart = performance.timeOrigin;
const BANKS = [
  { key: "bank-1k", images: 1 }, // memory_fit=true: 1024 rows
  { key: "bank-10k", images: 10 }, // 10240 rows
];
const FIT_SIZES = [1, 5, 20, 50];

async function fit(): Promise<unknown> {
  const { handler } = await import("../../functions/fitOk");
  const all = await benchImages(50, 100);
  const fits: Record<string, unknown>[] = [];
  for (const n of FIT_SIZES) {
    const form = imageForm({ role_id: "bench", roi_id: `fit-${n}`, mm_per_px: "0.1" }, all.slice(0, n).map((data, i) => ({ field: "images", data, name: `${i}.jpg` })));
    const started = performance.now();
    const body = await invoke(handler, await multipartEvent("/fit_ok", form));
    fits.push({ images: n, total_ms: performance.now() - started, n_embeddings: body.n_embeddings, coreset_size: body.coreset_size, stages_ms: body.timings_ms });
  }
  const calibrate = (await import("../../functions/calibrateNg")).handler;
  const inferHandler = (await import("../../functions/infer")).handler;
  const heldOut = await benchImages(3, 500);
  for (const bank of BANKS) {
    const form = imageForm(
      { role_id: "bench", roi_id: bank.key, mm_per_px: "0.1", memory_fit: "true" },
      all.slice(0, bank.images).map((data, i) => ({ field: "images", data, name: `${i}.jpg` })),
    );
    await invoke(handler, await multipartEvent("/fit_ok", form));
    // calibrated on good images' scores, as production memories are: /infer then finds the
    // regions of the defect image the bench sends, and only those
    const okScores: number[] = [];
    for (const image of heldOut) {
      const scored = await invoke(inferHandler, await multipartEvent("/infer", imageForm({ role_id: "bench", roi_id: bank.key, mm_per_px: "0.1" }, [{ field: "image", data: image, name: "ok.jpg" }])));
      okScores.push(scored.score);
    }
    const body = JSON.stringify({ role_id: "bench", roi_id: bank.key, ok_scores: okScores, area_mm2_thr: 0.5 });
    await invoke(calibrate, { ...(await multipartEvent("/calibrate_ng", new FormData())), headers: { "Content-Type": "application/json" }, body, isBase64Encoded: false });
  }
  return { fits };
}

async function infer(runs: number): Promise<unknown> {
  const { handler } = await import("../../functions/infer");
  const { getRuntime } = await import("../../lib/api/runtime");
  const { modelKeys, modelIdentity } = await import("../../lib/store/keys");
  const { Timings } = await import("../../lib/util/timings");
  const image = await benchDefect(7);
  const eventFor = (roi: string) => multipartEvent("/infer", imageForm({ role_id: "bench", roi_id: roi, mm_per_px: "0.1" }, [{ field: "image", data: image, name: "x.jpg" }]));

  // cold: this process's first request loads the ONNX model and fetches the memory from S3
  const coldStart = performance.now();
  const cold = await invoke(handler, await eventFor(BANKS[0]!.key));
  const coldMs = performance.now() - coldStart;
  const sinceProcessStartMs = Date.now() - processStart;

  const banks: Record<string, unknown>[] = [];
  for (const bank of BANKS) {
    const event = await eventFor(bank.key);
    await invoke(handler, event); // loads this bank into the cache
    const totals: number[] = [];
    const ratios: number[] = [];
    const stages = new Map<string, number[]>();
    for (let i = 0; i < Math.max(3, runs) + 2; i++) {
      const started = performance.now();
      const body = await invoke(handler, event);
      const total = performance.now() - started;
      if (i < 2) continue; // warm-up
      totals.push(total);
      ratios.push(total / (body.timings_ms.forward as number));
      let accounted = 0;
      for (const [stage, ms] of Object.entries(body.timings_ms as Record<string, number>)) {
        stages.set(stage, [...(stages.get(stage) ?? []), ms]);
        if (stage !== "png_encode_wall") accounted += ms; // overlaps "regions": not added twice
      }
      stages.set("other (multipart, S3 HEAD, JSON)", [...(stages.get("other (multipart, S3 HEAD, JSON)") ?? []), total - accounted]);
    }
    // an S3 GET + decode of this memory, as on a cache miss
    const runtime = getRuntime();
    const keys = modelKeys(runtime.config.s3.prefix, modelIdentity("bench", bank.key));
    const miss: number[] = [];
    for (let i = 0; i < 5; i++) {
      const timings = new Timings();
      const started = performance.now();
      await runtime.store.loadMemory(keys, timings);
      miss.push(performance.now() - started);
    }
    // a stage that happened in some runs only (an S3 HEAD once per CACHE_TTL_MS) costs 0 in the others
    const stageSummary: Record<string, Summary> = {};
    for (const [stage, values] of stages) stageSummary[stage] = summarise([...values, ...new Array<number>(totals.length - values.length).fill(0)]);
    const forward = stageSummary.forward?.p50 ?? NaN;
    banks.push({
      bank: bank.key,
      rows: bank.images * 1024,
      total: summarise(totals),
      stages: stageSummary,
      ratioTotalToForward: summarise(totals).p50 / forward,
      perRequestRatio: summarise(ratios),
      s3GetOnMissMs: summarise(miss),
    });
  }
  return { cold: { firstInferMs: coldMs, sinceProcessStartMs, modelLoadAndFetch: cold.timings_ms }, banks, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

const [mode, runs] = process.argv.slice(2);
(mode === "fit" ? fit() : infer(Number(runs ?? 20)))
  .then((result) => {
    process.stdout.write("\nBENCH_RESULT " + JSON.stringify(result) + "\n");
    process.exit(0);
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
