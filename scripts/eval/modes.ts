import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ImageFile, InspectionClient } from "../../lib/contract/client";
import type { CalibrateNgResponse } from "../../lib/contract/calibrateNg";
import { calibrateDataset, uploadDirect } from "../util/datasets";
import { precisionRecallF1 } from "./metrics";
import { ProgressLine } from "./progress";

/** A test image with its /infer score. */
export interface ScoredItem {
  readonly file: string;
  readonly type: string;
  readonly score: number;
  readonly defective: boolean;
}

type Rate = CalibrateNgResponse["false_alarm_rate"];
export type Mode = { readonly rule: "old" } | { readonly rule: "f1" } | { readonly rule: "false_alarm_rate"; readonly target: number };

/** One mode calibrated on the calibration half and judged on the held-out half. */
export interface ModeResult {
  readonly mode: Mode;
  readonly threshold: number;
  /** /calibrate_ng's rates on the calibration half (in-sample). */
  readonly inSample: { readonly falseAlarmRate: Rate; readonly missRate: Rate | null };
  /** /calibrate_dataset's rates on the calibration half stored as a dataset (k-fold cross-validated); null with --no-cross-validation. */
  readonly crossValidated: { readonly threshold: number; readonly falseAlarmRate: Rate; readonly missRate: Rate | null } | null;
  readonly warnings: readonly { code: string; message: string }[];
  readonly heldOut: ReturnType<typeof precisionRecallF1> & { falseAlarmRate: number; missRate: number };
}

export const modeName = (mode: Mode) => (mode.rule === "false_alarm_rate" ? `false_alarm_rate ${mode.target}` : mode.rule);

type Ids = { role_id: string; roi_id: string; mm_per_px: number };

/**
 * Each threshold mode on the same split: /calibrate_ng on the calibration half's scores (the
 * threshold, in-sample rates), then, unless `crossValidate` is false, /calibrate_dataset on the
 * calibration half's images stored as a dataset of their own (ROI `<roi>-calibration`, the same
 * model through model_key: the threshold again, from the workers' scores, and its cross-validated
 * rates); the held-out half judged by the threshold. Leaves the model calibrated by the old rule.
 */
export async function compareModes(
  api: InspectionClient,
  ids: Ids,
  calibrationSet: readonly ScoredItem[],
  heldOut: readonly ScoredItem[],
  modes: readonly Mode[],
  crossValidate: boolean,
): Promise<ModeResult[]> {
  const datasetIds = { role_id: ids.role_id, roi_id: `${ids.roi_id}-calibration` };
  if (crossValidate) await storeCalibrationHalf(api, datasetIds, ids.mm_per_px, calibrationSet);
  const okScores = calibrationSet.filter((i) => !i.defective).map((i) => i.score);
  const ngScores = calibrationSet.filter((i) => i.defective).map((i) => i.score);
  const results: ModeResult[] = [];
  for (const mode of modes) {
    const calibration = (await api.calibrateNg({ ...ids, ok_scores: okScores, ng_scores: ngScores, ...mode })).ok();
    let crossValidated: ModeResult["crossValidated"] = null;
    if (crossValidate) {
      const bar = new ProgressLine(`/calibrate_dataset ${modeName(mode)}`);
      const answer = await calibrateDataset(
        api,
        { ...datasetIds, model_key: ids.roi_id, default_mm_per_px: ids.mm_per_px, ...mode },
        { onProgress: (job) => bar.update(job.progress.done, job.progress.total, job.state) },
      );
      bar.done();
      const { result } = answer;
      crossValidated = { threshold: result.threshold, falseAlarmRate: result.false_alarm_rate, missRate: result.miss_rate };
    }
    const prf = precisionRecallF1(
      heldOut.map((i) => i.score >= calibration.threshold),
      heldOut.map((i) => i.defective),
    );
    results.push({
      mode,
      threshold: calibration.threshold,
      inSample: { falseAlarmRate: calibration.false_alarm_rate, missRate: calibration.miss_rate },
      crossValidated,
      warnings: calibration.warnings,
      heldOut: { ...prf, falseAlarmRate: prf.fp / (prf.fp + prf.tn), missRate: prf.fn / (prf.fn + prf.tp) },
    });
  }
  (await api.calibrateNg({ ...ids, ok_scores: okScores, ng_scores: ngScores })).ok();
  return results;
}

/** The calibration half as a dataset: good images as ok, defective as ng, each with its scale and its file's name. */
async function storeCalibrationHalf(api: InspectionClient, ids: { role_id: string; roi_id: string }, mmPerPx: number, items: readonly ScoredItem[]) {
  for (const label of ["ok", "ng"] as const) {
    (await api.clearDataset({ ...ids, label })).ok();
    const split = items.filter((i) => i.defective === (label === "ng"));
    const files: ImageFile[] = await Promise.all(split.map(async (i) => ({ filename: path.basename(i.file), data: await readFile(i.file) })));
    const bar = new ProgressLine(`upload calibration half ${label}`);
    await uploadDirect(api, ids, label, files, (_f, k) => ({ mm_per_px: mmPerPx, filename: `${split[k]!.type}/${path.basename(split[k]!.file)}` }), {
      onUploaded: (done) => bar.update(done, files.length),
    });
    bar.done();
  }
}

const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
const interval = (rate: Rate) => `${percent(rate.estimate)} [${percent(rate.low)}, ${percent(rate.high)}]`;
const within = (value: number, rate: Rate) => value >= rate.low && value <= rate.high;
const f4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : "n/a");

/** The report's section: the modes side by side, then the goals checked in words. */
export function modesReport(results: readonly ModeResult[], nCalibration: { ok: number; ng: number }, nHeldOut: { ok: number; ng: number }): string[] {
  const stated = (r: ModeResult, rate: "falseAlarmRate" | "missRate") => {
    const s = r.crossValidated?.[rate] ?? r.inSample[rate];
    return s ? `${interval(s)} (${s.estimated_on === "cross_validation" ? `${s.folds}-fold` : "in-sample"})` : "n/a";
  };
  const contains = (r: ModeResult) => (within(r.heldOut.falseAlarmRate, r.crossValidated?.falseAlarmRate ?? r.inSample.falseAlarmRate) ? "yes" : "**no**");
  const lines = [
    `### Threshold modes (calibrated on ${nCalibration.ok} good + ${nCalibration.ng} defective images, judged on the other ${nHeldOut.ok} + ${nHeldOut.ng})`,
    "",
    "| mode | threshold | held-out precision / recall / F1 | TP / FP / FN / TN | held-out false-alarm rate | stated (95 % CI) | in CI | held-out miss rate | stated (95 % CI) | warnings |",
    "|---|---:|---:|---:|---:|---:|:---:|---:|---:|---|",
    ...results.map(
      (r) =>
        `| ${modeName(r.mode)} | ${r.threshold.toFixed(4)} | ${f4(r.heldOut.precision)} / ${f4(r.heldOut.recall)} / ${f4(r.heldOut.f1)} | ` +
        `${r.heldOut.tp} / ${r.heldOut.fp} / ${r.heldOut.fn} / ${r.heldOut.tn} | ${percent(r.heldOut.falseAlarmRate)} | ${stated(r, "falseAlarmRate")} | ${contains(r)} | ` +
        `${percent(r.heldOut.missRate)} | ${stated(r, "missRate")} | ${r.warnings.map((w) => w.code).join(", ") || "-"} |`,
    ),
    "",
    "Stated rates: /calibrate_dataset's cross-validated ones on the calibration half (in-sample from /calibrate_ng with --no-cross-validation); " +
      "the held-out rates are counts of a few images themselves, with their own spread (the check asked is of the false-alarm rate). In-sample, for comparison: " +
      results
        .map(
          (r) =>
            `${modeName(r.mode)} ${interval(r.inSample.falseAlarmRate)} false alarms, ${r.inSample.missRate ? interval(r.inSample.missRate) : "n/a"} misses`,
        )
        .join("; ") +
      ".",
  ];
  const disagree = results.filter((r) => r.crossValidated && r.crossValidated.threshold !== r.threshold);
  if (results.some((r) => r.crossValidated))
    lines.push(
      "",
      disagree.length === 0
        ? "/calibrate_dataset (workers' scores) chose the same threshold as /calibrate_ng (/infer's scores) in every mode, to the bit."
        : `/calibrate_dataset chose another threshold than /calibrate_ng in ${disagree.map((r) => `${modeName(r.mode)} (${r.crossValidated!.threshold} vs ${r.threshold})`).join(", ")}.`,
    );
  const old = results.find((r) => r.mode.rule === "old");
  const f1 = results.find((r) => r.mode.rule === "f1");
  lines.push("");
  if (old && f1)
    lines.push(
      `- Goal "f1's held-out F1 >= the old rule's": ${f1.heldOut.f1 >= old.heldOut.f1 ? "met" : "**not met**"} (${f4(f1.heldOut.f1)} vs ${f4(old.heldOut.f1)}).`,
    );
  for (const far of results.filter((r) => r.mode.rule === "false_alarm_rate")) {
    const s = far.crossValidated?.falseAlarmRate ?? far.inSample.falseAlarmRate;
    lines.push(
      `- Goal "${modeName(far.mode)}: the stated interval contains the held-out false-alarm rate": ${within(far.heldOut.falseAlarmRate, s) ? "met" : "**not met**"} ` +
        `(held-out ${percent(far.heldOut.falseAlarmRate)}, ${far.heldOut.fp} of ${far.heldOut.fp + far.heldOut.tn}; stated ${interval(s)}).`,
    );
  }
  for (const r of results) for (const w of r.warnings) lines.push(`- ${modeName(r.mode)}: ${w.message}`);
  return lines;
}
