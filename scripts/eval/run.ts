/**
 * `npm run eval -- <folder> [--url URL] [--model NAME] [--out DIR] [--overlays N]`
 *
 * Evaluates the whole product on a folder in MVTec AD layout, through its HTTP API:
 * 1. fits /fit_ok on train/good (as many images as one request may carry: the request limit,
 *    MAX_REQUEST_BYTES, 4.4 MB by default; several fits are not one memory);
 * 2. scores every test image with /infer (include_anomaly_map=true for pixel metrics);
 * 3. calibrates /calibrate_ng on a stated split (even-indexed good and defective test images)
 *    and measures precision / recall / F1 on the rest (odd-indexed);
 * 4. reports image AUROC, pixel AUROC, per-defect-type image AUROC; writes summary.json,
 *    report.md, roc.png and overlays/*.png (image | heatmap + predicted regions red + truth green).
 * Without --url it starts its own local stack (serverless-offline + s3rver in a temp folder).
 */
import { readFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { LAMBDA_RAW_BODY_BYTES } from "../../lib/config";
import { percentile } from "../../lib/patchcore/percentile";
import { findRegions, type Region } from "../../lib/patchcore/regions";
import { startThrowawayStack } from "../local/stack";
import { InspectionClient } from "../../lib/contract/client";
import { flag, positional } from "../util/cli";
import { readMvtec } from "./dataset";
import { auroc, BinnedAuroc, precisionRecallF1, rocCurve } from "./metrics";
import { overlayPng, rocPng } from "./visuals";

const root = path.resolve(__dirname, "../..");
const MM_PER_PX = 0.1; // MVTec-style sets carry no scale; regions are reported in pixels x 0.01 mm2

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const folder = positional(args, ["--url", "--model", "--out", "--overlays", "--max-request-bytes"]);
  if (!folder) {
    console.error("usage: npm run eval -- <folder in MVTec layout> [--url URL] [--model NAME] [--out DIR] [--overlays N]");
    process.exit(2);
  }
  const dataset = readMvtec(path.resolve(folder));
  const name = path.basename(dataset.root);
  const model = flag(args, "--model") ?? process.env.MODEL_NAME ?? "texture-s14";
  const maxRequest = Number(flag(args, "--max-request-bytes") ?? LAMBDA_RAW_BODY_BYTES);
  const out = path.resolve(flag(args, "--out") ?? path.join(root, "eval-results", `${name}-${model}-${new Date().toISOString().replace(/[:.]/g, "-")}`));
  await mkdir(path.join(out, "overlays"), { recursive: true });
  const started = Date.now();

  let url = flag(args, "--url");
  let stop = async () => undefined as void;
  if (!url) {
    const stack = await startThrowawayStack({
      root,
      bucket: "eval-models",
      env: { MODEL_NAME: model, MAX_REQUEST_BYTES: String(maxRequest), MAX_FILE_BYTES: String(maxRequest) },
    });
    url = stack.url;
    stop = () => stack.stop();
  }
  try {
    const api = new InspectionClient(url);
    const health = (await api.health()).ok();
    const ids = { role_id: "eval", roi_id: name, mm_per_px: MM_PER_PX };

    // 1. fit on as many training images as one request carries
    const train: { filename: string; data: Buffer }[] = [];
    let bytes = 2048; // the text fields and part headers
    for (const file of dataset.train) {
      const data = await readFile(file);
      if (bytes + data.length + 300 > maxRequest) break;
      bytes += data.length + 300;
      train.push({ filename: path.basename(file), data });
    }
    const fit = (await api.fitOk(ids, train)).ok();
    console.log(`fit: ${train.length} of ${dataset.train.length} training images (one request of at most ${maxRequest} bytes), ${fit.n_embeddings} patches -> ${fit.coreset_size} in memory, ${fit.timings_ms.forward?.toFixed?.(0)} ms forward`);

    // 2. score every test image
    const items: { file: string; type: string; mask: string | null; score: number; defective: boolean }[] = [];
    let low = Infinity;
    let high = -Infinity;
    const maps: Float32Array[] = [];
    const inferMs: number[] = [];
    for (const item of dataset.test) {
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
      items.push({ ...item, score: res.score, defective: item.type !== "good" });
    }

    // 3. image and pixel metrics
    const imageAuroc = auroc(items.map((i) => i.score), items.map((i) => i.defective));
    const types = [...new Set(items.filter((i) => i.defective).map((i) => i.type))];
    const perType = Object.fromEntries(
      types.map((type) => {
        const subset = items.filter((i) => i.type === type || !i.defective);
        return [type, { n: subset.filter((i) => i.defective).length, auroc: auroc(subset.map((i) => i.score), subset.map((i) => i.defective)) }];
      }),
    );
    const pixel = new BinnedAuroc(low, high);
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
    const pixelResult = pixel.result();

    // 4. calibrate on the even-indexed half of good and of defective test images, judge the odd half
    const good = items.filter((i) => !i.defective);
    const bad = items.filter((i) => i.defective);
    const calibrationSet = [...good.filter((_, i) => i % 2 === 0), ...bad.filter((_, i) => i % 2 === 0)];
    const heldOut = [...good.filter((_, i) => i % 2 === 1), ...bad.filter((_, i) => i % 2 === 1)];
    const calibration = (
      await api.calibrateNg({
        ...ids,
        ok_scores: calibrationSet.filter((i) => !i.defective).map((i) => i.score),
        ng_scores: calibrationSet.filter((i) => i.defective).map((i) => i.score),
      })
    ).ok();
    const prf = precisionRecallF1(heldOut.map((i) => i.score >= calibration.threshold), heldOut.map((i) => i.defective));

    // 5. pictures: ROC curves and a few overlays (after calibration, so regions are drawn)
    await rocPng(
      [
        { name: `image AUROC ${imageAuroc.toFixed(3)}`, points: rocCurve(items.map((i) => i.score), items.map((i) => i.defective)), colour: "#1f77b4" },
        { name: `pixel AUROC ${pixelResult.auroc.toFixed(3)}`, points: pixelResult.curve, colour: "#d62728" },
      ],
      path.join(out, "roc.png"),
    );
    const overlayCount = Number(flag(args, "--overlays") ?? 4);
    const chosen = [...heldOut.filter((i) => i.defective).slice(0, overlayCount - 1), ...heldOut.filter((i) => !i.defective).slice(0, 1)];
    for (const item of chosen) {
      const data = await readFile(item.file);
      const res = (await api.infer(ids, { filename: path.basename(item.file), data })).ok();
      const threshold = res.threshold ?? Number.NaN;
      let truthContours: [number, number][][] = [];
      if (item.mask) {
        const { data: m, info } = await sharp(item.mask).toColourspace("b-w").raw().toBuffer({ resolveWithObject: true });
        const map = Float32Array.from(m, (v) => (v > 127 ? 1 : 0));
        truthContours = findRegions(map, new Uint8Array(map.length).fill(1), info.width, info.height, 0.5, 1, 0).map((r: Region) => r.contour);
      }
      const verdict = res.score >= threshold ? "DEFECT" : "ok";
      const caption = `${item.type}/${path.basename(item.file)}  score ${res.score.toFixed(4)}  threshold ${threshold.toFixed(4)}  -> ${verdict}, ${res.regions.length} region(s)`;
      await overlayPng(data, res.heatmap_png_base64, res.regions, truthContours, caption, path.join(out, "overlays", `${item.type}_${path.basename(item.file).replace(/\.\w+$/, "")}.png`));
    }

    const summary = {
      dataset: dataset.root,
      command: `npm run eval -- ${args.join(" ")}`,
      when: new Date().toISOString(),
      model: health.model,
      service: url,
      fit: { trainImagesUsed: train.length, trainImagesAvailable: dataset.train.length, requestLimitBytes: maxRequest, nEmbeddings: fit.n_embeddings, coresetSize: fit.coreset_size },
      test: { good: good.length, defective: bad.length },
      imageAuroc,
      pixelAuroc: pixelResult.auroc,
      pixelCounts: { defective: pixelResult.positives, good: pixelResult.negatives },
      perDefectType: perType,
      calibration: { split: "even-indexed good and defective test images (sorted by name) calibrate; odd-indexed ones are judged", nOk: calibrationSet.filter((i) => !i.defective).length, nNg: calibrationSet.filter((i) => i.defective).length, ...calibration },
      heldOut: { n: heldOut.length, ...prf },
      inferMsP50: percentile(inferMs, 50),
      seconds: (Date.now() - started) / 1000,
    };
    await writeFile(path.join(out, "summary.json"), JSON.stringify(summary, null, 2));
    const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "n/a");
    const report = [
      `# Evaluation: ${name} with ${health.model}`,
      "",
      `Command: \`npm run eval -- ${args.join(" ")}\` (${summary.seconds.toFixed(0)} s, through the HTTP API at ${url}).`,
      "",
      `Fit on ${train.length} of ${dataset.train.length} training images: one /fit_ok request may carry ${maxRequest} bytes. ${fit.n_embeddings} patches, ${fit.coreset_size} kept.`,
      "",
      "| metric | value |",
      "|---|---:|",
      `| image AUROC (${good.length} good, ${bad.length} defective) | ${f(imageAuroc)} |`,
      `| pixel AUROC (${pixelResult.positives} defective px, ${pixelResult.negatives} good px) | ${f(pixelResult.auroc)} |`,
      ...Object.entries(perType).map(([type, r]) => `| image AUROC, ${type} vs good (${r.n}) | ${f(r.auroc)} |`),
      `| threshold from /calibrate_ng (${summary.calibration.nOk} OK, ${summary.calibration.nNg} NG scores: even-indexed test images) | ${calibration.threshold.toFixed(4)} |`,
      `| held-out (odd-indexed, ${heldOut.length} images) precision / recall / F1 | ${f(prf.precision)} / ${f(prf.recall)} / ${f(prf.f1)} |`,
      `| held-out confusion: TP / FP / FN / TN | ${prf.tp} / ${prf.fp} / ${prf.fn} / ${prf.tn} |`,
      `| /infer round trip p50 (with raw map) | ${summary.inferMsP50.toFixed(0)} ms |`,
      "",
      "Pictures: `roc.png`, `overlays/` (left: the ROI; right: heatmap in jet colours, predicted regions red, ground truth green).",
    ].join("\n");
    await writeFile(path.join(out, "report.md"), report + "\n");
    console.log("\n" + report + `\n\nwrote ${path.relative(root, out)}/ (summary.json, report.md, roc.png, overlays/)`);
  } finally {
    await stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
