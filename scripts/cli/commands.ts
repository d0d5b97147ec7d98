import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { InspectionClient } from "../../lib/contract/client";
import { overlayPng } from "../eval/visuals";
import { clientOf, ok, resultOrJob, type GlobalOptions } from "./client";
import { CliError, EXIT } from "./exitCodes";
import { imageFile, imagePaths } from "./images";
import { progressBar } from "./progress";

const print = (value: unknown) => process.stdout.write(JSON.stringify(value, null, 2) + "\n");

interface ModelOptions extends GlobalOptions {
  readonly role: string;
  readonly roi: string;
  readonly modelKey?: string;
}

function ids(options: ModelOptions) {
  return {
    role_id: options.role,
    roi_id: options.roi,
    ...(options.modelKey ? { model_key: options.modelKey } : {}),
    ...(options.recipe ? { recipe_id: options.recipe } : {}),
  };
}

/** Uploads files to a dataset label straight to S3 (presigned PUTs), `batch` per commit. */
async function uploadToDataset(
  api: InspectionClient,
  options: ModelOptions,
  label: "ok" | "ng",
  files: readonly string[],
  mmPerPx: number | undefined,
  batch = 100,
): Promise<string[]> {
  const dataset = { role_id: options.role, roi_id: options.roi, ...(options.recipe ? { recipe_id: options.recipe } : {}) };
  const bar = progressBar(`upload ${label}`, files.length);
  const saved: string[] = [];
  try {
    for (let start = 0; start < files.length; start += batch) {
      const images = await Promise.all(files.slice(start, start + batch).map(imageFile));
      const links = await ok(
        "POST /datasets/uploads",
        api.createUploads({ ...dataset, label, files: images.map((f) => ({ filename: f.filename, content_type: f.type as "image/png" | "image/jpeg" })) }),
      );
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < images.length) {
            const i = next++;
            const upload = links.uploads[i]!;
            const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: Buffer.from(images[i]!.data) });
            if (!put.ok) throw new Error(`upload of ${images[i]!.filename} answered HTTP ${put.status}`);
            bar.update(start + i + 1);
          }
        }),
      );
      const metas = images.map((f) => ({ filename: f.filename, ...(mmPerPx !== undefined ? { mm_per_px: mmPerPx } : {}) }));
      const committed = await ok(
        "POST /datasets/uploads/commit",
        api.commitUploads({ ...dataset, label, uploads: links.uploads.map((u, i) => ({ upload_id: u.upload_id, meta: metas[i]! })) }),
      );
      saved.push(...committed.saved);
    }
  } finally {
    bar.stop();
  }
  return saved;
}

/**
 * `fit <folder>`: the folder's images into the ROI's OK dataset (direct uploads), then a new version
 * fitted on the whole dataset (a job when large); with --append, a new version made from the active
 * one (or --model-version) and only these images (learning from false alarms). --candidate keeps
 * the new version from being served until it is activated.
 */
export async function fitCommand(
  folder: string,
  options: ModelOptions & { mmPerPx: number; memoryFit?: boolean; replace?: boolean; append?: boolean; modelVersion?: number; candidate?: boolean },
): Promise<number> {
  if (!options.append && options.modelVersion !== undefined)
    throw new CliError("--model-version names the version to append to: use it with --append", EXIT.USAGE);
  if (options.append && options.memoryFit)
    throw new CliError("--memory-fit is for a whole fit: an append keeps the parent's rows and adds what k-center greedy picks", EXIT.USAGE);
  if (options.append && options.replace) throw new CliError("--replace clears the OK dataset the model was fitted on: not with --append", EXIT.USAGE);
  const api = clientOf(options);
  const files = await imagePaths(folder);
  if (options.replace)
    await ok(
      "DELETE /datasets/clear",
      api.clearDataset({ role_id: options.role, roi_id: options.roi, label: "ok", ...(options.recipe ? { recipe_id: options.recipe } : {}) }),
    );
  const saved = await uploadToDataset(api, options, "ok", files, options.mmPerPx);
  const activate = !options.candidate;
  const fields = options.append
    ? {
        ...ids(options),
        mm_per_px: options.mmPerPx,
        append: true,
        activate,
        dataset_files: JSON.stringify(saved),
        ...(options.modelVersion !== undefined ? { model_version: options.modelVersion } : {}),
      }
    : { ...ids(options), mm_per_px: options.mmPerPx, use_dataset: true, memory_fit: options.memoryFit ?? false, activate };
  print(await resultOrJob(api, "POST /fit_ok", api.fitOk(fields, [])));
  return EXIT.OK;
}

/** `models list|activate <version>|delete <version>`: a model's versions, which one is served, a rollback, a removal. */
export async function modelsCommand(action: string, version: number | undefined, options: ModelOptions): Promise<number> {
  const api = clientOf(options);
  const model = ids(options);
  if (action === "list") print(await ok("GET /models", api.listModels(model)));
  else if (action === "activate") print(await ok("POST /models/activate", api.activateModel({ ...model, version: version! })));
  else if (action === "delete") print(await ok("DELETE /models/version", api.deleteModelVersion({ ...model, version: version! })));
  return EXIT.OK;
}

/**
 * `compare <image|folder> --versions A,B`: every image scored by both versions, one JSON line each
 * with the two scores and verdicts side by side (a candidate against the live version before
 * activating it); exit 1 when the verdicts differ on any image.
 */
export async function compareCommand(target: string, options: ModelOptions & { versions: [number, number]; mmPerPx?: number }): Promise<number> {
  const api = clientOf(options);
  const files = await imagePaths(target);
  let differ = 0;
  for (const file of files) {
    const image = await imageFile(file);
    const side = async (version: number) => {
      const res = await ok(
        `POST /infer ${image.filename} (version ${version})`,
        api.infer(
          { ...ids(options), model_version: version, ...(options.mmPerPx !== undefined ? { mm_per_px: options.mmPerPx } : {}) } as Parameters<
            InspectionClient["infer"]
          >[0],
          image,
        ),
      );
      return {
        version,
        score: res.score,
        threshold: res.threshold,
        verdict: res.threshold === null ? "uncalibrated" : res.score >= res.threshold ? "defect" : "ok",
      };
    };
    const [a, b] = [await side(options.versions[0]), await side(options.versions[1])];
    if (a.verdict !== b.verdict) differ++;
    process.stdout.write(JSON.stringify({ file, a, b, same_verdict: a.verdict === b.verdict }) + "\n");
  }
  return differ > 0 ? EXIT.DEFECT : EXIT.OK;
}

/** `infer <image|folder>`: one JSON line per image; overlays (image | heatmap + regions) in --out; exit 1 when any image is defective. */
export async function inferCommand(
  target: string,
  options: ModelOptions & { mmPerPx?: number; shape?: string; out?: string; modelVersion?: number },
): Promise<number> {
  const api = clientOf(options);
  const files = await imagePaths(target);
  if (options.out) await mkdir(options.out, { recursive: true });
  const bar = progressBar("infer", files.length, files.length > 1 && process.stderr.isTTY === true);
  let defects = 0;
  try {
    for (const [i, file] of files.entries()) {
      const image = await imageFile(file);
      const res = await ok(
        `POST /infer ${image.filename}`,
        api.infer(
          {
            ...ids(options),
            ...(options.mmPerPx !== undefined ? { mm_per_px: options.mmPerPx } : {}),
            ...(options.shape ? { shape: options.shape } : {}),
            ...(options.out ? { heatmap_scale: "model" } : {}),
            ...(options.modelVersion !== undefined ? { model_version: options.modelVersion } : {}),
          } as Parameters<InspectionClient["infer"]>[0],
          image,
        ),
      );
      const defective = res.threshold !== null && res.score >= res.threshold;
      if (defective) defects++;
      process.stdout.write(
        JSON.stringify({
          file,
          score: res.score,
          threshold: res.threshold,
          model_version: res.model_version,
          verdict: res.threshold === null ? "uncalibrated" : defective ? "defect" : "ok",
          regions: res.regions.map((r) => ({ bbox: r.bbox, area_mm2: r.area_mm2 })),
        }) + "\n",
      );
      if (options.out) {
        const caption = `${image.filename}  score ${res.score.toFixed(4)}  threshold ${res.threshold?.toFixed(4) ?? "none"}  ${res.threshold === null ? "uncalibrated" : defective ? "DEFECT" : "ok"}`;
        await overlayPng(
          Buffer.from(image.data),
          res.heatmap_fixed!.png_base64,
          res.regions,
          [],
          caption,
          path.join(options.out, `${image.filename.replace(/\.\w+$/, "")}_overlay.png`),
        );
      }
      bar.update(i + 1);
    }
  } finally {
    bar.stop();
  }
  return defects > 0 ? EXIT.DEFECT : EXIT.OK;
}

/** `calibrate`: from the stored dataset (/calibrate_dataset), or from --ok/--ng folders scored one by one then /calibrate_ng. */
export async function calibrateCommand(
  options: ModelOptions & {
    ok?: string;
    ng?: string;
    mmPerPx?: number;
    scorePercentile?: number;
    areaMm2Thr?: number;
    modelVersion?: number;
    rule?: "old" | "false_alarm_rate" | "f1";
    target?: number;
    curve?: boolean;
  },
): Promise<number> {
  if (options.rule === "false_alarm_rate" && options.target === undefined)
    throw new CliError("--rule false_alarm_rate needs --target, the largest share of good parts that may be flagged (e.g. 0.005)", EXIT.USAGE);
  if (options.target !== undefined && options.rule !== "false_alarm_rate") throw new CliError("--target goes with --rule false_alarm_rate", EXIT.USAGE);
  if (options.rule === "f1" && options.ok && !options.ng) throw new CliError("--rule f1 needs defective images too: add --ng <folder>", EXIT.USAGE);
  if (options.target !== undefined && !(options.target > 0 && options.target < 1))
    throw new CliError(`--target is a share of good parts, between 0 and 1 (e.g. 0.005), got ${options.target}`, EXIT.USAGE);
  const api = clientOf(options);
  const version = options.modelVersion !== undefined ? { model_version: options.modelVersion } : {};
  const settings = {
    ...(options.scorePercentile !== undefined ? { score_percentile: options.scorePercentile } : {}),
    ...(options.areaMm2Thr !== undefined ? { area_mm2_thr: options.areaMm2Thr } : {}),
    ...(options.rule !== undefined && options.rule !== "old" ? { rule: options.rule } : {}),
    ...(options.target !== undefined ? { target: options.target } : {}),
    ...version,
  };
  if (options.curve && options.ok) throw new CliError("--curve comes with a calibration from the stored dataset (without --ok)", EXIT.USAGE);
  if (!options.ok) {
    print(
      await resultOrJob(
        api,
        "POST /calibrate_dataset",
        api.calibrateDataset({
          ...ids(options),
          ...settings,
          ...(options.mmPerPx !== undefined ? { default_mm_per_px: options.mmPerPx } : {}),
          ...(options.curve ? { include_curve: true } : {}),
        }),
      ),
    );
    return EXIT.OK;
  }
  const score = async (folder: string, label: string) => {
    const files = await imagePaths(folder);
    const bar = progressBar(`score ${label}`, files.length);
    const scores: number[] = [];
    try {
      for (const [i, file] of files.entries()) {
        const res = await ok(
          `POST /infer ${file}`,
          api.infer(
            { ...ids(options), ...version, ...(options.mmPerPx !== undefined ? { mm_per_px: options.mmPerPx } : {}) } as Parameters<
              InspectionClient["infer"]
            >[0],
            await imageFile(file),
          ),
        );
        scores.push(res.score);
        bar.update(i + 1);
      }
    } finally {
      bar.stop();
    }
    return scores;
  };
  const okScores = await score(options.ok, "ok");
  const ngScores = options.ng ? await score(options.ng, "ng") : null;
  print(
    await ok(
      "POST /calibrate_ng",
      api.calibrateNg({
        ...ids(options),
        ok_scores: okScores,
        ng_scores: ngScores,
        ...settings,
        ...(options.mmPerPx !== undefined ? { mm_per_px: options.mmPerPx } : {}),
      }),
    ),
  );
  return EXIT.OK;
}

/** `status`: the service (/health), a model (/state + /manifest), or a job. */
export async function statusCommand(options: GlobalOptions & { role?: string; roi?: string; modelKey?: string; job?: string }): Promise<number> {
  const api = clientOf(options);
  if (options.job) {
    print(await ok("GET /jobs", api.getJob(options.job)));
    return EXIT.OK;
  }
  const health = await ok("GET /health", api.health());
  if (!options.role || !options.roi) {
    print(health);
    return EXIT.OK;
  }
  const model = ids({ ...options, role: options.role, roi: options.roi });
  const manifest = await ok("GET /manifest", api.manifest(model));
  print({ service: { model: health.model, version: health.version }, ...manifest });
  return EXIT.OK;
}
