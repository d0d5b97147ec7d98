/**
 * One bench process for one model (env: MODEL_NAME, S3_ENDPOINT, MODELS_BUCKET...), run by
 * scripts/bench/run.ts: fits the benchmark memories through the real fit use case, then in a
 * fresh process measures the cold first inference and warm ones through the real inspect use
 * case (the code behind POST /infer, without the HTTP edge), stage by stage. Prints one JSON line.
 *
 * Warm inferences run twice per request number, interleaved: once with the configured kNN policy
 * (KNN_BACKEND, "auto" by default: what the service does) and once with KNN_BACKEND=exact (brute
 * force: the "before"), on the same ONNX session, so both see the same machine load; the two
 * answers are compared (score, raw anomaly map).
 * Usage: tsx scripts/bench/inferWorker.ts fit|infer RUNS
 */
import { standaloneContext } from "../../lib/context";
import { calibrateFromScores } from "../../lib/app/calibration/calibrateScores";
import { fitUploadedImages } from "../../lib/app/fitting/fitImages";
import { memoryKeyOf } from "../../lib/app/models/versions";
import { inspectImage, type InspectResult } from "../../lib/app/inspection/inspect";

import { createServices, type LoadedMemory, type Services } from "../../lib/app/services";
import { loadConfig } from "../../lib/config";
import type { UploadedFile } from "../../lib/contract/files";
import { modelIdentity, modelKeys } from "../../lib/store/keys";
import { RevalidatingCache } from "../../lib/store/revalidatingCache";
import { Timings } from "../../lib/util/timings";
import { benchDefect, benchImages } from "./benchImages";
import { summarise, type Summary } from "./stats";

const processStart = performance.timeOrigin;
export const BANKS = [
  { key: "bank-1k", images: 1 }, // memory_fit=true: 1024 rows
  { key: "bank-10k", images: 10 }, // 10240 rows
  { key: "bank-50k", images: 50 }, // 51200 rows
];
/** The bank the cold start is measured on (the "10k-row bank"). */
const COLD_BANK = "bank-10k";
const FIT_SIZES = [1, 5, 20, 50];

const servicesCreated = performance.now();
// as a Lambda function's composition root does at INIT: the model's load starts now
const services = createServices(loadConfig(process.env), { loadModelNow: true });
const jpegs = (images: readonly Buffer[], field: string): UploadedFile[] =>
  images.map((data, i) => ({ field, filename: `${i}.jpg`, mimeType: "image/jpeg", data }));
const ids = (roi: string) => ({ role_id: "bench", roi_id: roi });
const inferInput = (roi: string, image: Buffer, includeMap = false) => ({
  ...ids(roi),
  mm_per_px: 0.1,
  include_anomaly_map: includeMap,
  image: jpegs([image], "image"),
});

async function fit(): Promise<unknown> {
  const all = await benchImages(50, 100);
  const fits: Record<string, unknown>[] = [];
  for (const n of FIT_SIZES) {
    const started = performance.now();
    const result = await fitUploadedImages(
      services,
      { ...ids(`fit-${n}`), mm_per_px: 0.1, memory_fit: false, use_dataset: false, activate: true, append: false, images: jpegs(all.slice(0, n), "images") },
      standaloneContext(services.log),
    );
    fits.push({
      images: n,
      total_ms: performance.now() - started,
      n_embeddings: result.n_embeddings,
      coreset_size: result.coreset_size,
      stages_ms: result.timings_ms,
    });
  }
  const heldOut = await benchImages(3, 500);
  for (const bank of BANKS) {
    await fitUploadedImages(
      services,
      {
        ...ids(bank.key),
        mm_per_px: 0.1,
        memory_fit: true,
        use_dataset: false,
        activate: true,
        append: false,
        images: jpegs(all.slice(0, bank.images), "images"),
      },
      standaloneContext(services.log),
    );
    // calibrated on good images' scores, as production memories are: inference then finds the
    // regions of the defect image the bench sends, and only those
    const okScores: number[] = [];
    for (const image of heldOut) okScores.push((await inspectImage(services, inferInput(bank.key, image), standaloneContext(services.log))).score);
    await calibrateFromScores(
      services,
      { ...ids(bank.key), ok_scores: okScores, ng_scores: null, area_mm2_thr: 0.5, model_version: undefined },
      standaloneContext(services.log),
    );
  }
  return { fits };
}

/** The same services with KNN_BACKEND=exact and a cache of their own (the ONNX session is shared). */
function exactServices(base: Services): Services {
  const config = loadConfig({ ...process.env, KNN_BACKEND: "exact" });
  return { ...base, config, memoryCache: new RevalidatingCache<LoadedMemory>(config.cache.maxBytes, config.cache.ttlMs) };
}

interface Series {
  totals: number[];
  ratios: number[];
  stages: Map<string, number[]>;
  knn: string;
}

/** Stages of loading the memory, calibration and recipe: /infer runs them during the forward. */
const STORE_STAGES = new Set(["s3_head", "s3_get", "npz_decode", "knn_build", "index_load"]);

function record(series: Series, result: InspectResult, total: number): void {
  series.totals.push(total);
  series.ratios.push(total / (result.timings_ms.forward as number));
  series.knn = result.knn;
  let accounted = 0;
  for (const [stage, ms] of Object.entries(result.timings_ms)) {
    series.stages.set(stage, [...(series.stages.get(stage) ?? []), ms]);
    // png_encode_wall overlaps "regions"; the store's stages run while letterbox + forward run
    if (stage !== "png_encode_wall" && !STORE_STAGES.has(stage)) accounted += ms;
  }
  series.stages.set("other (in no stage)", [...(series.stages.get("other (in no stage)") ?? []), total - accounted]);
}

function summary(series: Series): Record<string, unknown> {
  // a stage that happened in some runs only (an S3 HEAD once per CACHE_TTL_MS) costs 0 in the others
  const stageSummary: Record<string, Summary> = {};
  for (const [stage, values] of series.stages) stageSummary[stage] = summarise([...values, ...new Array<number>(series.totals.length - values.length).fill(0)]);
  const total = summarise(series.totals);
  return {
    knn: series.knn,
    total,
    stages: stageSummary,
    ratioTotalToForward: total.p50 / (stageSummary.forward?.p50 ?? NaN),
    perRequestRatio: summarise(series.ratios),
  };
}

async function infer(runs: number): Promise<unknown> {
  const image = await benchDefect(7);
  const exact = exactServices(services);
  const inspect = async (using: Services, roi: string, includeMap = false) => {
    const started = performance.now();
    // as the function does: the inference's metrics recorded, then written as EMF lines (METRICS=on)
    const metrics = using.observability.metrics.open();
    const result = await inspectImage(using, inferInput(roi, image, includeMap), standaloneContext(using.log, "bench", { metrics }));
    metrics.publish();
    return { result, ms: performance.now() - started };
  };

  // cold: INIT's model load (started when the services were created), then this process's first
  // inference, which fetches the memory from S3 and builds its scorer
  await services.extractor();
  const modelLoadMs = performance.now() - servicesCreated;
  const cold = await inspect(services, COLD_BANK);
  const sinceProcessStartMs = Date.now() - processStart;

  const banks: Record<string, unknown>[] = [];
  for (const bank of BANKS) {
    await inspect(services, bank.key); // loads this bank into each cache
    await inspect(exact, bank.key);
    const chosen: Series = { totals: [], ratios: [], stages: new Map(), knn: "" };
    const brute: Series = { totals: [], ratios: [], stages: new Map(), knn: "" };
    for (let i = 0; i < Math.max(3, runs) + 2; i++) {
      const order =
        i % 2 === 0
          ? ([
              [services, chosen],
              [exact, brute],
            ] as const)
          : ([
              [exact, brute],
              [services, chosen],
            ] as const);
      for (const [using, series] of order) {
        const { result, ms } = await inspect(using, bank.key);
        if (i >= 2) record(series, result, ms); // the first two: warm-up
      }
    }
    // the same request's answers, both ways: image score and raw anomaly map
    const a = (await inspect(services, bank.key, true)).result;
    const b = (await inspect(exact, bank.key, true)).result;
    const mapA = new Float32Array(Buffer.from(a.anomaly_map!.data_base64, "base64").buffer.slice(0));
    const mapB = new Float32Array(Buffer.from(b.anomaly_map!.data_base64, "base64").buffer.slice(0));
    let mapMaxRel = 0;
    for (let p = 0; p < mapA.length; p++) mapMaxRel = Math.max(mapMaxRel, Math.abs(mapA[p]! - mapB[p]!) / Math.max(Math.abs(mapB[p]!), 1e-12));
    const agreement = {
      knn: [a.knn, b.knn],
      scoreRelDiff: Math.abs(a.score - b.score) / Math.abs(b.score),
      mapMaxRelDiff: mapMaxRel,
      sameRegions: JSON.stringify(a.regions) === JSON.stringify(b.regions),
    };

    // an S3 GET + decode of this memory, as on a cache miss
    const keys = modelKeys(services.config.s3.prefix, modelIdentity("bench", bank.key));
    const versions = (await services.versions.load(keys, new Timings()))!.versions;
    const memoryKey = memoryKeyOf(
      keys,
      versions.versions.find((v) => v.version === versions.active_version)!,
    );
    const miss: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await services.memories.load(memoryKey, new Timings());
      miss.push(performance.now() - started);
    }
    banks.push({ bank: bank.key, rows: bank.images * 1024, chosen: summary(chosen), exact: summary(brute), agreement, s3GetOnMissMs: summarise(miss) });
  }
  const coldStages = cold.result.timings_ms as Record<string, number>;
  const warmForward = (banks.find((b) => b.bank === COLD_BANK)?.chosen as { stages: Record<string, Summary> }).stages.forward?.p50 ?? NaN;
  return {
    cold: {
      bank: COLD_BANK,
      knn: cold.result.knn,
      modelLoadMs,
      firstInferMs: cold.ms,
      memoryFetchMs: (coldStages.s3_get ?? 0) + (coldStages.npz_decode ?? 0) + (coldStages.s3_head ?? 0),
      knnBuildMs: coldStages.knn_build ?? 0,
      forwardMs: coldStages.forward ?? NaN,
      stages: coldStages,
      sinceProcessStartMs,
      warmForwardMs: warmForward,
    },
    banks,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
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
