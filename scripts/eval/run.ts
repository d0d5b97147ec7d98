/**
 * `npm run eval -- <folder> [--url URL] [--model NAME] [--out DIR] [--overlays N] [--scoring per-image|batch|both] [--batch] [--target RATE[,RATE...]] [--no-cross-validation]`
 *
 * Evaluates the whole product on a folder in MVTec AD layout, through its HTTP API:
 * 1. stores every train/good image as the ROI's OK dataset through presigned direct uploads
 *    (POST /datasets/uploads, one PUT per file straight to S3, POST /datasets/uploads/commit)
 *    and fits /fit_ok with use_dataset=true on all of them (fanned out over the worker function;
 *    a job when over the synchronous budget);
 * 2. scores every test image:
 *    - per-image (default): one /infer each, include_anomaly_map=true (pixel metrics);
 *    - batch (--batch, or --scoring batch): the test images stored as the ROI's dataset (good as
 *      ok, defective as ng, a meta with mm_per_px and the file's name each) and scored by one
 *      /infer_dataset per label; no anomaly maps, so no pixel AUROC;
 *    - both: the two, their scores compared, the metrics from the per-image scores;
 * 3. calibrates /calibrate_ng on a stated split (even-indexed good and defective test images)
 *    and measures precision / recall / F1 on the rest (odd-indexed), in each threshold mode (rule
 *    old, false_alarm_rate with each --target, default 0.05, and f1) side by side, with the error rates
 *    each mode states: cross-validated by /calibrate_dataset on the calibration half stored as a
 *    dataset of its own (--no-cross-validation: /calibrate_ng's in-sample ones only);
 * 4. reports image AUROC, pixel AUROC (per-image), per-defect-type image AUROC and the timings of
 *    each step; writes summary.json, report.md, roc.png and overlays/*.png (image | heatmap +
 *    predicted regions red + truth green).
 * Without --url it starts its own local stack (serverless-offline + s3rver in a temp folder); for
 * a model other than texture-s14 that stack answers batches as jobs (SYNC_BUDGET_MS=0, unless set):
 * locally a ViT batch takes longer than an HTTP function's 29 s.
 */
import { readFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { percentile } from "../../lib/patchcore/percentile";
import { findRegions, type Region } from "../../lib/patchcore/regions";
import { startThrowawayStack } from "../local/stack";
import { InspectionClient, type ImageFile } from "../../lib/contract/client";
import { fitFromDataset, inferDataset, uploadDirect } from "../util/datasets";
import { flag, positional } from "../util/cli";
import { readMvtec } from "./dataset";
import { auroc, BinnedAuroc, precisionRecallF1, rocCurve } from "./metrics";
import { compareModes, modesReport, type Mode } from "./modes";
import { ProgressLine } from "./progress";
import { overlayPng, rocPng } from "./visuals";

const root = path.resolve(__dirname, "../..");
const MM_PER_PX = 0.1; // MVTec-style sets carry no scale; regions are reported in pixels x 0.01 mm2
const DEFAULT_TARGET = "0.05";

type Scoring = "per-image" | "batch" | "both";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const folder = positional(args, ["--url", "--model", "--out", "--overlays", "--scoring", "--target"]);
  const scoring = (args.includes("--batch") ? "batch" : (flag(args, "--scoring") ?? "per-image")) as Scoring;
  const targets = (flag(args, "--target") ?? DEFAULT_TARGET).split(",").map(Number);
  if (!folder || !["per-image", "batch", "both"].includes(scoring) || !targets.every((t) => t > 0 && t < 1)) {
    console.error(
      "usage: npm run eval -- <folder in MVTec layout> [--url URL] [--model NAME] [--out DIR] [--overlays N] [--scoring per-image|batch|both] [--batch] [--target RATE[,RATE...]] [--no-cross-validation]",
    );
    process.exit(2);
  }
  const dataset = readMvtec(path.resolve(folder));
  const name = path.basename(dataset.root);
  const model = flag(args, "--model") ?? process.env.MODEL_NAME ?? "texture-s14";
  const out = path.resolve(flag(args, "--out") ?? path.join(root, "eval-results", `${name}-${model}-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  await mkdir(path.join(out, "overlays"), { recursive: true });
  const started = Date.now();

  let url = flag(args, "--url");
  let stop = async () => undefined as void;
  if (!url) {
    const stack = await startThrowawayStack({
      root,
      bucket: "eval-models",
      env: { MODEL_NAME: model, ...(model !== "texture-s14" && !process.env.SYNC_BUDGET_MS ? { SYNC_BUDGET_MS: "0" } : {}) },
    });
    url = stack.url;
    stop = () => stack.stop();
  }
  try {
    const api = new InspectionClient(url);
    const health = (await api.health()).ok();
    const ids = { role_id: "eval", roi_id: name, mm_per_px: MM_PER_PX };
    const datasetIds = { role_id: ids.role_id, roi_id: ids.roi_id };

    // 1. every training image into the OK dataset (presigned direct uploads), then one dataset fit
    const train: ImageFile[] = await Promise.all(dataset.train.map(async (file) => ({ filename: path.basename(file), data: await readFile(file) })));
    const uploadBar = new ProgressLine("upload train/good");
    const t0 = performance.now();
    await uploadDirect(api, datasetIds, "ok", train, (f) => ({ mm_per_px: MM_PER_PX, filename: f.filename }), {
      onUploaded: (done) => uploadBar.update(done, train.length),
    });
    uploadBar.done();
    const trainUploadMs = performance.now() - t0;
    const fitBar = new ProgressLine("fit");
    const fitted = await fitFromDataset(api, ids, { onProgress: (job) => fitBar.update(job.progress.done, job.progress.total, job.state) });
    fitBar.done();
    const fit = fitted.result;
    console.log(
      `fit: all ${fit.n_images} of ${dataset.train.length} training images, uploaded through presigned direct uploads (${(trainUploadMs / 1000).toFixed(1)} s) then /fit_ok use_dataset=true ` +
        `(${fitted.job ? "a job" : "synchronous"}, ${(fitted.wallMs / 1000).toFixed(1)} s; ${fit.fan_out ? `${fit.fan_out.workers} workers x ${fit.fan_out.chunk_images} images, slowest ${fit.fan_out.worker_ms_max} ms, two-stage coreset ${fit.fan_out.two_stage_coreset}` : "no fan-out"}): ` +
        `${fit.n_embeddings} patches -> ${fit.coreset_size} in memory`,
    );

    // 2. score every test image: one /infer each, and/or /infer_dataset over the test set stored as a dataset
    const perImage = scoring === "batch" ? null : await scorePerImage(api, ids, dataset.test);
    const batch = scoring === "per-image" ? null : await scoreBatch(api, ids, dataset.test);
    const scoreOf = (perImage ?? batch)!.scores;
    const items = dataset.test.map((item) => ({ ...item, score: scoreOf.get(item.file)!, defective: item.type !== "good" }));
    const agreement = perImage && batch ? compareScores(perImage.scores, batch.scores) : null;
    if (agreement)
      console.log(
        `per-image vs batch scores: max abs difference ${agreement.maxAbs.toExponential(2)}, max relative ${agreement.maxRel.toExponential(2)} over ${agreement.n} images`,
      );
    const maps = perImage?.maps ?? null;

    // 3. image and pixel metrics
    const imageAuroc = auroc(
      items.map((i) => i.score),
      items.map((i) => i.defective),
    );
    const types = [...new Set(items.filter((i) => i.defective).map((i) => i.type))];
    const perType = Object.fromEntries(
      types.map((type) => {
        const subset = items.filter((i) => i.type === type || !i.defective);
        return [
          type,
          {
            n: subset.filter((i) => i.defective).length,
            auroc: auroc(
              subset.map((i) => i.score),
              subset.map((i) => i.defective),
            ),
          },
        ];
      }),
    );
    let pixelResult: ReturnType<BinnedAuroc["result"]> | null = null;
    if (maps) {
      const pixel = new BinnedAuroc(perImage!.low, perImage!.high);
      for (const [k, item] of items.entries()) {
        const map = maps[k]!;
        let truth = new Uint8Array(map.length);
        if (item.mask) {
          const { data } = await sharp(item.mask).toColourspace("b-w").raw().toBuffer({ resolveWithObject: true });
          truth = Uint8Array.from(data, (v) => (v > 127 ? 1 : 0));
        }
        if (truth.length !== map.length) throw new Error(`${item.mask}: mask size differs from the image`);
        pixel.add(map, truth);
      }
      pixelResult = pixel.result();
    }

    // 4. calibrate on the even-indexed half of good and of defective test images, judge the odd half
    const good = items.filter((i) => !i.defective);
    const bad = items.filter((i) => i.defective);
    const calibrationSet = [...good.filter((_, i) => i % 2 === 0), ...bad.filter((_, i) => i % 2 === 0)];
    const heldOut = [...good.filter((_, i) => i % 2 === 1), ...bad.filter((_, i) => i % 2 === 1)];
    // each threshold mode side by side on that split (the model is left calibrated by the old rule)
    const modes: Mode[] = [{ rule: "old" }, ...targets.map((target) => ({ rule: "false_alarm_rate" as const, target })), { rule: "f1" }];
    const modeResults = await compareModes(api, ids, calibrationSet, heldOut, modes, !args.includes("--no-cross-validation"));
    const calibration = (
      await api.calibrateNg({
        ...ids,
        ok_scores: calibrationSet.filter((i) => !i.defective).map((i) => i.score),
        ng_scores: calibrationSet.filter((i) => i.defective).map((i) => i.score),
      })
    ).ok();
    const prf = precisionRecallF1(
      heldOut.map((i) => i.score >= calibration.threshold),
      heldOut.map((i) => i.defective),
    );

    // 5. pictures: ROC curves and a few overlays (after calibration, so regions are drawn)
    await rocPng(
      [
        {
          name: `image AUROC ${imageAuroc.toFixed(3)}`,
          points: rocCurve(
            items.map((i) => i.score),
            items.map((i) => i.defective),
          ),
          colour: "#1f77b4",
        },
        ...(pixelResult ? [{ name: `pixel AUROC ${pixelResult.auroc.toFixed(3)}`, points: pixelResult.curve, colour: "#d62728" }] : []),
      ],
      path.join(out, "roc.png"),
    );
    const overlayCount = Number(flag(args, "--overlays") ?? 4);
    const chosen = [...heldOut.filter((i) => i.defective).slice(0, overlayCount - 1), ...heldOut.filter((i) => !i.defective).slice(0, 1)];
    for (const item of chosen) {
      const data = await readFile(item.file);
      const res = (await api.infer({ ...ids, heatmap_scale: "model" }, { filename: path.basename(item.file), data })).ok();
      const threshold = res.threshold ?? Number.NaN;
      let truthContours: [number, number][][] = [];
      if (item.mask) {
        const { data: m, info } = await sharp(item.mask).toColourspace("b-w").raw().toBuffer({ resolveWithObject: true });
        const map = Float32Array.from(m, (v) => (v > 127 ? 1 : 0));
        truthContours = findRegions(map, new Uint8Array(map.length).fill(1), info.width, info.height, 0.5, 1, 0).map((r: Region) => r.contour);
      }
      const verdict = res.score >= threshold ? "DEFECT" : "ok";
      const caption = `${item.type}/${path.basename(item.file)}  score ${res.score.toFixed(4)}  threshold ${threshold.toFixed(4)}  -> ${verdict}, ${res.regions.length} region(s)`;
      await overlayPng(
        data,
        res.heatmap_fixed!.png_base64,
        res.regions,
        truthContours,
        caption,
        path.join(out, "overlays", `${item.type}_${path.basename(item.file).replace(/\.\w+$/, "")}.png`),
      );
    }

    const timings = {
      trainUploadMs,
      fitMs: fitted.wallMs,
      fitAs: fitted.job ? "job" : "synchronous",
      fitFanOut: fit.fan_out ?? null,
      perImage: perImage
        ? { images: items.length, totalMs: perImage.totalMs, inferMsP50: percentile(perImage.inferMs, 50), inferMsP95: percentile(perImage.inferMs, 95) }
        : null,
      batch: batch ? { testUploadMs: batch.uploadMs, calls: batch.calls, totalMs: batch.calls.reduce((sum, c) => sum + c.wallMs, 0) } : null,
    };
    const summary = {
      dataset: dataset.root,
      command: `npm run eval -- ${args.join(" ")}`,
      when: new Date().toISOString(),
      model: health.model,
      service: url,
      scoring,
      fit: {
        trainImagesUsed: fit.n_images,
        trainImagesAvailable: dataset.train.length,
        how: "presigned direct uploads of every train/good image, then /fit_ok use_dataset=true",
        nEmbeddings: fit.n_embeddings,
        coresetSize: fit.coreset_size,
        fanOut: fit.fan_out ?? null,
      },
      test: { good: good.length, defective: bad.length },
      imageAuroc,
      imageAurocBatch:
        batch && perImage
          ? auroc(
              items.map((i) => batch.scores.get(i.file)!),
              items.map((i) => i.defective),
            )
          : null,
      scoreAgreement: agreement,
      pixelAuroc: pixelResult?.auroc ?? null,
      pixelCounts: pixelResult ? { defective: pixelResult.positives, good: pixelResult.negatives } : null,
      perDefectType: perType,
      calibration: {
        split: "even-indexed good and defective test images (sorted by name) calibrate; odd-indexed ones are judged",
        nOk: calibrationSet.filter((i) => !i.defective).length,
        nNg: calibrationSet.filter((i) => i.defective).length,
        ...calibration,
      },
      heldOut: { n: heldOut.length, ...prf },
      modes: modeResults,
      inferMsP50: perImage ? percentile(perImage.inferMs, 50) : null,
      timings,
      seconds: (Date.now() - started) / 1000,
    };
    await writeFile(path.join(out, "summary.json"), JSON.stringify(summary, null, 2));
    const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "n/a");
    const s1 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const report = [
      `# Evaluation: ${name} with ${health.model}`,
      "",
      `Command: \`npm run eval -- ${args.join(" ")}\` (${summary.seconds.toFixed(0)} s, through the HTTP API at ${url}; scoring: ${scoring}).`,
      "",
      `Fit on all ${fit.n_images} of ${dataset.train.length} training images: stored as the ROI's OK dataset through presigned direct uploads, then one /fit_ok with use_dataset=true` +
        `${fit.fan_out ? ` (${fit.fan_out.workers} worker invocations of ${fit.fan_out.chunk_images} images, two-stage coreset)` : ""}. ${fit.n_embeddings} patches, ${fit.coreset_size} kept.`,
      "",
      "| metric | value |",
      "|---|---:|",
      `| image AUROC (${good.length} good, ${bad.length} defective; ${perImage ? "/infer" : "/infer_dataset"} scores) | ${f(imageAuroc)} |`,
      ...(summary.imageAurocBatch !== null ? [`| image AUROC from the /infer_dataset scores | ${f(summary.imageAurocBatch)} |`] : []),
      ...(agreement
        ? [
            `| /infer vs /infer_dataset scores: max abs / relative difference (${agreement.n} images) | ${agreement.maxAbs.toExponential(2)} / ${agreement.maxRel.toExponential(2)} |`,
          ]
        : []),
      pixelResult
        ? `| pixel AUROC (${pixelResult.positives} defective px, ${pixelResult.negatives} good px) | ${f(pixelResult.auroc)} |`
        : "| pixel AUROC | n/a: /infer_dataset returns no anomaly map (use the per-image scoring) |",
      ...Object.entries(perType).map(([type, r]) => `| image AUROC, ${type} vs good (${r.n}) | ${f(r.auroc)} |`),
      `| threshold from /calibrate_ng (${summary.calibration.nOk} OK, ${summary.calibration.nNg} NG scores: even-indexed test images) | ${calibration.threshold.toFixed(4)} |`,
      `| held-out (odd-indexed, ${heldOut.length} images) precision / recall / F1 | ${f(prf.precision)} / ${f(prf.recall)} / ${f(prf.f1)} |`,
      `| held-out confusion: TP / FP / FN / TN | ${prf.tp} / ${prf.fp} / ${prf.fn} / ${prf.tn} |`,
      "",
      ...modesReport(
        modeResults,
        { ok: calibrationSet.filter((i) => !i.defective).length, ng: calibrationSet.filter((i) => i.defective).length },
        { ok: heldOut.filter((i) => !i.defective).length, ng: heldOut.filter((i) => i.defective).length },
      ),
      "",
      "| step (wall time, client side) | time |",
      "|---|---:|",
      `| upload ${train.length} training images (presigned direct uploads + commit) | ${s1(trainUploadMs)} |`,
      `| /fit_ok use_dataset=true (${timings.fitAs}${fit.fan_out ? `; ${fit.fan_out.workers} workers x ${fit.fan_out.chunk_images}, slowest worker ${fit.fan_out.worker_ms_max} ms` : ""}) | ${s1(fitted.wallMs)} |`,
      ...(timings.perImage
        ? [
            `| per-image: ${items.length} x /infer with the raw map, one after another (p50 ${timings.perImage.inferMsP50.toFixed(0)} ms, p95 ${timings.perImage.inferMsP95.toFixed(0)} ms) | ${s1(timings.perImage.totalMs)} |`,
          ]
        : []),
      ...(timings.batch
        ? [
            `| batch: upload ${items.length} test images as the ROI's dataset (presigned, ok/ng with metas) | ${s1(timings.batch.testUploadMs)} |`,
            ...timings.batch.calls.map(
              (c) =>
                `| batch: /infer_dataset labels=["${c.label}"], ${c.images} images (${c.as}; ${c.workers} workers x ${c.chunkImages}, slowest worker ${c.workerMsMax} ms) | ${s1(c.wallMs)} |`,
            ),
            `| batch: both /infer_dataset calls | ${s1(timings.batch.totalMs)} |`,
          ]
        : []),
      "",
      "Pictures: `roc.png`, `overlays/` (left: the ROI; right: heatmap in jet colours, predicted regions red, ground truth green).",
    ].join("\n");
    await writeFile(path.join(out, "report.md"), report + "\n");
    console.log("\n" + report + `\n\nwrote ${path.relative(root, out)}/ (summary.json, report.md, roc.png, overlays/)`);
  } finally {
    await stop();
  }
}

type TestItem = ReturnType<typeof readMvtec>["test"][number];
type Ids = { role_id: string; roi_id: string; mm_per_px: number };

/** One /infer per test image with its raw anomaly map (pixel metrics), one after another. */
async function scorePerImage(api: InspectionClient, ids: Ids, test: readonly TestItem[]) {
  const scores = new Map<string, number>();
  const maps: Float32Array[] = [];
  const inferMs: number[] = [];
  let low = Infinity;
  let high = -Infinity;
  const bar = new ProgressLine("/infer per image");
  const started = performance.now();
  for (const [k, item] of test.entries()) {
    const data = await readFile(item.file);
    const t0 = performance.now();
    const res = (await api.infer({ ...ids, include_anomaly_map: true }, { filename: path.basename(item.file), data })).ok();
    inferMs.push(performance.now() - t0);
    const map = new Float32Array(Buffer.from(res.anomaly_map!.data_base64, "base64").buffer.slice(0));
    for (let i = 0; i < map.length; i++) {
      if (map[i]! < low) low = map[i]!;
      if (map[i]! > high) high = map[i]!;
    }
    maps.push(map);
    scores.set(item.file, res.score);
    bar.update(k + 1, test.length);
  }
  bar.done();
  return { scores, maps, inferMs, low, high, totalMs: performance.now() - started };
}

/**
 * The test images stored as the ROI's dataset (its OK training images removed first: the memory
 * is fitted already), good as ok and defective as ng, each with a meta (mm_per_px, its file's
 * name), then one /infer_dataset per label. /infer_dataset needs a calibration: a provisional one
 * (threshold 1e6) is stored first; it only keeps regions out of the answers (as the per-image
 * /infer calls, made before any calibration, have none); scores do not depend on it. The real
 * calibration replaces it after.
 */
async function scoreBatch(api: InspectionClient, ids: Ids, test: readonly TestItem[]) {
  const datasetIds = { role_id: ids.role_id, roi_id: ids.roi_id };
  (await api.clearDataset({ ...datasetIds, label: "ok" })).ok();
  (await api.calibrateNg({ ...ids, ok_scores: [1e6] })).ok();
  const scores = new Map<string, number>();
  const byStoredName = new Map<string, TestItem>();
  const t0 = performance.now();
  for (const label of ["ok", "ng"] as const) {
    const split = test.filter((t) => (t.type === "good") === (label === "ok"));
    const files: ImageFile[] = await Promise.all(split.map(async (t) => ({ filename: path.basename(t.file), data: await readFile(t.file) })));
    const bar = new ProgressLine(`upload test ${label}`);
    const saved = await uploadDirect(
      api,
      datasetIds,
      label,
      files,
      (_f, i) => ({ mm_per_px: MM_PER_PX, filename: `${split[i]!.type}/${path.basename(split[i]!.file)}` }),
      { onUploaded: (done) => bar.update(done, files.length) },
    );
    bar.done();
    saved.forEach((stored, i) => byStoredName.set(`${label}/${stored}`, split[i]!));
  }
  const uploadMs = performance.now() - t0;
  const calls = [];
  for (const label of ["ok", "ng"] as const) {
    const bar = new ProgressLine(`/infer_dataset ${label}`);
    const answer = await inferDataset(
      api,
      { ...datasetIds, labels: [label], default_mm_per_px: MM_PER_PX },
      { onProgress: (job) => bar.update(job.progress.done, job.progress.total, job.state) },
    );
    bar.done();
    const { result } = answer;
    if (result.n_errors > 0) throw new Error(`/infer_dataset ${label}: ${result.n_errors} items failed, e.g. ${result.items.find((i) => i.error)?.error}`);
    for (const item of result.items) {
      const test = byStoredName.get(`${item.label}/${item.filename}`);
      if (!test) throw new Error(`/infer_dataset answered an item not uploaded here: ${item.label}/${item.filename}`);
      scores.set(test.file, item.score!);
    }
    calls.push({
      label,
      images: result.n_total,
      wallMs: answer.wallMs,
      as: answer.job ? "job" : "synchronous",
      workers: result.fan_out?.workers ?? 0,
      chunkImages: result.fan_out?.chunk_images ?? 0,
      workerMsMax: result.fan_out?.worker_ms_max ?? 0,
    });
    console.log(
      `/infer_dataset ${label}: ${result.n_total} images in ${(answer.wallMs / 1000).toFixed(2)} s (${answer.job ? "a job" : "synchronous"}; ${result.fan_out?.workers} workers, slowest ${result.fan_out?.worker_ms_max} ms)`,
    );
  }
  if (scores.size !== test.length) throw new Error(`/infer_dataset scored ${scores.size} of ${test.length} test images`);
  return { scores, uploadMs, calls };
}

function compareScores(a: Map<string, number>, b: Map<string, number>) {
  let maxAbs = 0;
  let maxRel = 0;
  for (const [file, x] of a) {
    const y = b.get(file)!;
    maxAbs = Math.max(maxAbs, Math.abs(x - y));
    maxRel = Math.max(maxRel, Math.abs(x - y) / Math.max(Math.abs(x), 1e-12));
  }
  return { n: a.size, maxAbs, maxRel };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
