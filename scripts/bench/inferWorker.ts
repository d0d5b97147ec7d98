/**
 * One bench process for one model (env: MODEL_NAME, S3_ENDPOINT, MODELS_BUCKET...), run by
 * scripts/bench/run.ts: fits the benchmark memories through the real fit use case, then in a
 * fresh process measures the cold first inference and warm ones through the real inspect use
 * case (the code behind POST /infer, without the HTTP edge), stage by stage. Prints one JSON line.
 * Usage: tsx scripts/bench/inferWorker.ts fit|infer RUNS
 */
import { standaloneContext } from "../../lib/app/context";
import { calibrateFromScores } from "../../lib/app/calibrate";
import { fitMemory } from "../../lib/app/fit";
import { inspectImage } from "../../lib/app/inspect";
import { createServices } from "../../lib/app/services";
import type { UploadedFile } from "../../lib/contract/files";
import { modelIdentity, modelKeys } from "../../lib/store/keys";
import { Timings } from "../../lib/util/timings";
import { benchDefect, benchImages } from "./benchImages";
import { summarise, type Summary } from "./stats";

const processStart = performance.timeOrigin;
const BANKS = [
  { key: "bank-1k", images: 1 }, // memory_fit=true: 1024 rows
  { key: "bank-10k", images: 10 }, // 10240 rows
];
const FIT_SIZES = [1, 5, 20, 50];

const services = createServices();
const jpegs = (images: readonly Buffer[], field: string): UploadedFile[] => images.map((data, i) => ({ field, filename: `${i}.jpg`, mimeType: "image/jpeg", data }));
const ids = (roi: string) => ({ role_id: "bench", roi_id: roi });
const inferInput = (roi: string, image: Buffer) => ({ ...ids(roi), mm_per_px: 0.1, include_anomaly_map: false, image: jpegs([image], "image") });

async function fit(): Promise<unknown> {
  const all = await benchImages(50, 100);
  const fits: Record<string, unknown>[] = [];
  for (const n of FIT_SIZES) {
    const started = performance.now();
    const result = await fitMemory(services, { ...ids(`fit-${n}`), mm_per_px: 0.1, memory_fit: false, use_dataset: false, images: jpegs(all.slice(0, n), "images") }, standaloneContext(services.log));
    fits.push({ images: n, total_ms: performance.now() - started, n_embeddings: result.n_embeddings, coreset_size: result.coreset_size, stages_ms: result.timings_ms });
  }
  const heldOut = await benchImages(3, 500);
  for (const bank of BANKS) {
    await fitMemory(services, { ...ids(bank.key), mm_per_px: 0.1, memory_fit: true, use_dataset: false, images: jpegs(all.slice(0, bank.images), "images") }, standaloneContext(services.log));
    // calibrated on good images' scores, as production memories are: inference then finds the
    // regions of the defect image the bench sends, and only those
    const okScores: number[] = [];
    for (const image of heldOut) okScores.push((await inspectImage(services, inferInput(bank.key, image), standaloneContext(services.log))).score);
    await calibrateFromScores(services, { ...ids(bank.key), ok_scores: okScores, ng_scores: null, area_mm2_thr: 0.5 }, standaloneContext(services.log));
  }
  return { fits };
}

async function infer(runs: number): Promise<unknown> {
  const image = await benchDefect(7);
  const inspect = async (roi: string) => {
    const started = performance.now();
    const result = await inspectImage(services, inferInput(roi, image), standaloneContext(services.log));
    return { result, ms: performance.now() - started };
  };

  // cold: this process's first inference loads the ONNX model and fetches the memory from S3
  const cold = await inspect(BANKS[0]!.key);
  const sinceProcessStartMs = Date.now() - processStart;

  const banks: Record<string, unknown>[] = [];
  for (const bank of BANKS) {
    await inspect(bank.key); // loads this bank into the cache
    const totals: number[] = [];
    const ratios: number[] = [];
    const stages = new Map<string, number[]>();
    for (let i = 0; i < Math.max(3, runs) + 2; i++) {
      const { result, ms: total } = await inspect(bank.key);
      if (i < 2) continue; // warm-up
      totals.push(total);
      ratios.push(total / (result.timings_ms.forward as number));
      let accounted = 0;
      for (const [stage, ms] of Object.entries(result.timings_ms)) {
        stages.set(stage, [...(stages.get(stage) ?? []), ms]);
        if (stage !== "png_encode_wall") accounted += ms; // overlaps "regions": not added twice
      }
      stages.set("other (S3 HEAD, response)", [...(stages.get("other (S3 HEAD, response)") ?? []), total - accounted]);
    }
    // an S3 GET + decode of this memory, as on a cache miss
    const keys = modelKeys(services.config.s3.prefix, modelIdentity("bench", bank.key));
    const miss: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await services.memories.load(keys, new Timings());
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
  return { cold: { firstInferMs: cold.ms, sinceProcessStartMs, modelLoadAndFetch: cold.result.timings_ms }, banks, peakRssMb: process.resourceUsage().maxRSS / 1024 };
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
