import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { InspectionClient, type ImageFile } from "../../lib/contract/client";
import { clopperPearson } from "../../lib/patchcore/binomialInterval";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { PROJECT_ROOT, startTestStack, type TestStack } from "../helpers/testStack";

const W = 160;
const H = 120;
const MM = 0.1;
const ids = (roi: string) => ({ role_id: "Thresholds", roi_id: roi });

/** Good parts; two carry a bright benign stamp the fit never saw (false alarms waiting to happen). */
const goodImage = (seed: number) => (seed % 5 === 0 ? paintSpot(brushedMetal(W, H, seed), 40, 30, 4, [200, 200, 205]) : brushedMetal(W, H, seed));
/** Defects from obvious to faint: rust spots of shrinking radius, the last ones close to the metal's grey. */
const DEFECTS: [number, number, [number, number, number]][] = [
  [8, 101, [95, 55, 30]],
  [5, 102, [95, 55, 30]],
  [3, 103, [95, 55, 30]],
  [2, 104, [110, 90, 80]],
  [1.5, 105, [120, 118, 120]],
  [1, 106, [125, 128, 133]],
];
const defectImage = ([radius, seed, rgb]: (typeof DEFECTS)[number]) => paintSpot(brushedMetal(W, H, seed), 90, 60, radius, rgb);

/** Runs the CLI as a user would (bin/patchcore-inspect.js, a child process). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "bin/patchcore-inspect.js"), ...args], { cwd: PROJECT_ROOT, env: process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const png = async (name: string, image: ReturnType<typeof brushedMetal>): Promise<ImageFile> => ({ filename: name, data: await encodePng(image) });
const count = (values: readonly number[], test: (v: number) => boolean) => values.filter(test).length;
/** F1 of "defective when score >= threshold", NG positive. */
const f1At = (threshold: number, ok: readonly number[], ng: readonly number[]) => {
  const tp = count(ng, (v) => v >= threshold);
  return (2 * tp) / (2 * tp + count(ok, (v) => v >= threshold) + (ng.length - tp));
};

type Scores = { label: "ok" | "ng"; score: number | null }[];
/** The OK and NG scores of a /calibrate_dataset answer, in its order (label, then stored name): the order its folds follow. */
const split = (scores: Scores) => ({
  ok: scores.filter((s) => s.label === "ok").map((s) => s.score!),
  ng: scores.filter((s) => s.label === "ng").map((s) => s.score!),
});

describe("thresholds a quality engineer can sign, over HTTP: rules, error rates with intervals, the curve, warnings", () => {
  let stack: TestStack;
  let api: InspectionClient;
  let probe: ImageFile;

  beforeAll(async () => {
    // one worker invocation at a time, 16 images per invocation, each estimated at 0.5 s: a dataset
    // of 16 images is answered in the request (one wave, 9.6 s <= 12 s), one of 17 becomes a job
    // (two waves, 17.7 s); the estimate is arithmetic on these settings, not a measured time
    stack = await startTestStack({
      CACHE_TTL_MS: "0",
      SCORE_CHUNK_IMAGES: "16",
      FANOUT_WIDTH: "1",
      IMAGE_ESTIMATE_MS: "500",
      INVOKE_OVERHEAD_MS: "100",
      SYNC_BUDGET_MS: "12000",
    });
    api = new InspectionClient(stack.url, { validate: true });
    const fitImages = await Promise.all([1, 2, 3, 4].map((seed) => png(`fit_${seed}.png`, brushedMetal(W, H, seed))));
    for (const roi of ["Line", "Job"]) (await api.fitOk({ ...ids(roi), mm_per_px: MM }, fitImages)).ok();
    const good = await Promise.all([11, 12, 13, 14, 15, 16, 17, 18, 19, 20].map((seed) => png(`good_${seed}.png`, goodImage(seed))));
    const bad = await Promise.all(DEFECTS.map((d, i) => png(`defect_${i}.png`, defectImage(d))));
    const metas = (n: number) => Array.from({ length: n }, () => ({ mm_per_px: MM }));
    (await api.uploadDataset("ok", ids("Line"), good, metas(good.length))).ok();
    (await api.uploadDataset("ng", ids("Line"), bad, metas(bad.length))).ok();
    const extra = await png("good_21.png", goodImage(21));
    (await api.uploadDataset("ok", ids("Job"), [...good, extra], metas(good.length + 1))).ok();
    (await api.uploadDataset("ng", ids("Job"), bad, metas(bad.length))).ok();
    probe = bad[1]!;
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  });

  /** /calibrate_ng on the scratch model (never fitted: the calibration waits in its own file), to recompute what /calibrate_dataset did. */
  const thresholdOf = async (ok: readonly number[], ng: readonly number[], rule: { rule?: "old" | "false_alarm_rate" | "f1"; target?: number }) =>
    (await api.calibrateNg({ ...ids("Scratch"), mm_per_px: MM, ok_scores: [...ok], ng_scores: ng.length > 0 ? [...ng] : null, ...rule })).ok().threshold;

  it("/calibrate_dataset in each mode: the threshold /calibrate_ng chooses from the same scores, and 5-fold cross-validated rates one can recompute", async () => {
    const old = (await api.calibrateDataset({ ...ids("Line") })).ok();
    const { ok, ng } = split(old.scores);
    expect([ok.length, ng.length, old.n_ok, old.n_ng]).toEqual([10, 6, 10, 6]);
    // the old request, the old numbers: the same threshold as /calibrate_ng's old rule on these scores, to the bit
    expect(old.rule).toBe("old");
    expect(old.target).toBeNull();
    expect(Object.is(old.threshold, await thresholdOf(ok, ng, {}))).toBe(true);

    const thresholds = new Set<number>();
    let counted = 0;
    for (const rule of [{ rule: "old" as const }, { rule: "false_alarm_rate" as const, target: 0.2 }, { rule: "f1" as const }]) {
      const answer = rule.rule === "old" ? old : (await api.calibrateDataset({ ...ids("Line"), ...rule })).ok();
      expect([answer.rule, answer.target]).toEqual([rule.rule, rule.target ?? null]);
      expect(split(answer.scores)).toEqual({ ok, ng }); // the same images scored the same way every time
      expect(Object.is(answer.threshold, await thresholdOf(ok, ng, rule))).toBe(true);
      // cross-validation recomputed: image i of each label is in fold i mod 5; each fold's threshold is chosen from the other folds
      let falseAlarms = 0;
      let misses = 0;
      for (let fold = 0; fold < 5; fold++) {
        const threshold = await thresholdOf(
          ok.filter((_, i) => i % 5 !== fold),
          ng.filter((_, i) => i % 5 !== fold),
          rule,
        );
        falseAlarms += count(
          ok.filter((_, i) => i % 5 === fold),
          (v) => v >= threshold,
        );
        misses += count(
          ng.filter((_, i) => i % 5 === fold),
          (v) => v < threshold,
        );
      }
      const interval = (events: number, n: number) => ({ estimate: events / n, ...clopperPearson(events, n), n, count: events });
      const common = { confidence: 0.95, method: "clopper_pearson", estimated_on: "cross_validation", folds: 5 };
      expect(answer.false_alarm_rate).toEqual({ ...interval(falseAlarms, 10), ...common });
      expect(answer.miss_rate).toEqual({ ...interval(misses, 6), ...common });
      if (rule.rule === "false_alarm_rate") expect(count(ok, (v) => v >= answer.threshold)).toBeLessThanOrEqual(1); // floor(0.2 x 11) - 1 = 1 of 10 may be flagged
      if (rule.rule === "f1") expect(f1At(answer.threshold, ok, ng)).toBeGreaterThanOrEqual(f1At(old.threshold, ok, ng));
      thresholds.add(answer.threshold);
      counted += falseAlarms + misses;
    }
    // the images make the check bite: the modes choose differently, and the folds make errors to count
    expect([thresholds.size > 1, counted > 0]).toEqual([true, true]);
  });

  it("/calibrate_dataset's curve: every distinct score with the counts flagged at it, so a client previews any threshold", async () => {
    const answer = (await api.calibrateDataset({ ...ids("Line"), include_curve: true })).ok();
    const { ok, ng } = split(answer.scores);
    const curve = answer.curve!;
    expect([curve.n_ok, curve.n_ng]).toEqual([10, 6]);
    expect(curve.points.map((p) => p.threshold)).toEqual([...new Set([...ok, ...ng])].sort((a, b) => a - b));
    for (const p of curve.points) {
      expect([p.ok_flagged, p.ng_flagged]).toEqual([count(ok, (v) => v >= p.threshold), count(ng, (v) => v >= p.threshold)]);
      expect([p.false_alarm_rate, p.detection_rate]).toEqual([p.ok_flagged / 10, p.ng_flagged / 6]);
    }
    let pairs = 0;
    for (const n of ng) for (const o of ok) pairs += n > o ? 1 : n === o ? 0.5 : 0;
    expect(curve.auroc).toBeCloseTo(pairs / 60, 12);
    expect((await api.calibrateDataset({ ...ids("Line") })).ok()).not.toHaveProperty("curve");
  });

  it("stores the rule and its rates with the version: /infer answers them, GET /models lists them", async () => {
    const calibrated = (await api.calibrateDataset({ ...ids("Line"), rule: "false_alarm_rate", target: 0.2 })).ok();
    const inferred = (await api.infer({ ...ids("Line") }, probe)).ok();
    expect([inferred.threshold, inferred.calibration_rule, inferred.false_alarm_rate, inferred.miss_rate]).toEqual([
      calibrated.threshold,
      "false_alarm_rate",
      calibrated.false_alarm_rate,
      calibrated.miss_rate,
    ]);
    const [version] = (await api.listModels(ids("Line"))).ok().versions;
    expect(version!.calibration).toMatchObject({
      threshold: calibrated.threshold,
      rule: "false_alarm_rate",
      target: 0.2,
      false_alarm_rate: calibrated.false_alarm_rate,
      miss_rate: calibrated.miss_rate,
      warnings: calibrated.warnings,
    });
  });

  it("a /calibrate_dataset job carries the rule and the rates in its result, the scores and the curve in the full result", async () => {
    const accepted = (await api.calibrateDataset({ ...ids("Job"), rule: "f1", include_curve: true })).accepted();
    const job = await api.waitForJob(accepted.job_id, { intervalMs: 250, timeoutMs: 180_000 });
    expect(job).toMatchObject({ kind: "calibrate_dataset", state: "done" });
    const summary = job.result as { threshold: number; rule: string; false_alarm_rate: { folds: number; n: number }; miss_rate: { n: number } };
    expect([summary.rule, summary.false_alarm_rate.folds, summary.false_alarm_rate.n, summary.miss_rate.n]).toEqual(["f1", 5, 11, 6]);
    expect(job.result).not.toHaveProperty("curve");
    const full = (await (await fetch(job.result_url!)).json()) as { threshold: number; scores: Scores; curve: { n_ok: number; n_ng: number } };
    const { ok, ng } = split(full.scores);
    expect([full.threshold, full.curve.n_ok, full.curve.n_ng]).toEqual([summary.threshold, 11, 6]);
    expect(Object.is(summary.threshold, await thresholdOf(ok, ng, { rule: "f1" }))).toBe(true);
    expect((await api.infer({ ...ids("Job") }, probe)).ok().calibration_rule).toBe("f1");
  });

  it("/calibrate_ng in each mode: in-sample rates, marked so; the old GUI's call unchanged", async () => {
    const ok = [0.031, 0.027, 0.029, 0.035, 0.026, 0.03];
    const ng = [0.2, 0.034, 0.12];
    const legacy = (await api.calibrateNg({ ...ids("Line"), ok_scores: [0.027, 0.031], ng_scores: [0.2], area_mm2_thr: 1.0 })).ok();
    // the README's example: p99 of the OK scores 0.03096, p5 of the NG score 0.2, the midpoint
    expect(legacy).toMatchObject({ threshold: (0.027 + 0.99 * (0.031 - 0.027) + 0.2) / 2, p99_ok: 0.027 + 0.99 * (0.031 - 0.027), p5_ng: 0.2, rule: "old" });
    for (const rule of [{}, { rule: "false_alarm_rate" as const, target: 0.3 }, { rule: "f1" as const }]) {
      const answer = (await api.calibrateNg({ ...ids("Line"), ok_scores: ok, ng_scores: ng, ...rule })).ok();
      const inSample = { confidence: 0.95, method: "clopper_pearson", estimated_on: "in_sample", folds: null };
      const falseAlarms = count(ok, (v) => v >= answer.threshold);
      const misses = count(ng, (v) => v < answer.threshold);
      expect(answer.false_alarm_rate).toEqual({ estimate: falseAlarms / 6, ...clopperPearson(falseAlarms, 6), n: 6, count: falseAlarms, ...inSample });
      expect(answer.miss_rate).toEqual({ estimate: misses / 3, ...clopperPearson(misses, 3), n: 3, count: misses, ...inSample });
      expect(answer.warnings.map((w) => w.code)).toContain("scores_overlap"); // 0.034 is below the highest OK score
      expect((await api.infer({ ...ids("Line") }, probe)).ok().false_alarm_rate).toEqual(answer.false_alarm_rate);
    }
    // f1: flagging from 0.034 up (0.035, an OK score, with it) gives F1 6/7; from 0.12 up, 4/5: the gap below 0.034
    const f1 = (await api.calibrateNg({ ...ids("Line"), ok_scores: ok, ng_scores: ng, rule: "f1" })).ok();
    expect(f1.threshold).toBe(0.031 + (0.034 - 0.031) / 2);
    expect([f1At(f1.threshold, ok, ng), f1At(0.1, ok, ng)]).toEqual([6 / 7, 4 / 5]);
    // false_alarm_rate without NG: no miss rate, said in words
    const far = (await api.calibrateNg({ ...ids("Line"), ok_scores: ok, rule: "false_alarm_rate", target: 0.3 })).ok();
    expect([far.miss_rate, far.warnings.map((w) => w.code)]).toEqual([null, ["interval_above_target", "no_ng_scores"]]);
    expect(count(ok, (v) => v >= far.threshold)).toBe(1); // floor(0.3 x 7) - 1 = 1 may be flagged
  });

  it("warns in words when the data cannot support the choice", async () => {
    const tiny = (await api.calibrateDataset({ ...ids("Line"), rule: "false_alarm_rate", target: 0.001 })).ok();
    expect(tiny.warnings[0]).toEqual({
      code: "target_needs_more_ok",
      message: expect.stringMatching(/^A false-alarm rate of at most 0\.1 % needs at least 999 OK scores; there are 10: /),
    });
    expect(count(split(tiny.scores).ok, (v) => v >= tiny.threshold)).toBe(0);
    const manyOk = Array.from({ length: 30 }, (_, i) => 0.1 + i / 1000);
    const one = (await api.calibrateNg({ ...ids("Line"), ok_scores: manyOk, ng_scores: [0.9], rule: "f1" })).ok();
    expect(one.warnings).toEqual([{ code: "wide_interval", message: "The miss rate's 95 % interval is 0 % to 97.5 %: 1 NG scores say little about it." }]);
  });

  it("keeps each version's own rule and rates: activating a version brings them back", async () => {
    const fitImages = await Promise.all([5, 6, 7].map((seed) => png(`fit_${seed}.png`, brushedMetal(W, H, seed))));
    const v1 = (await api.fitOk({ ...ids("Versions"), mm_per_px: MM }, fitImages.slice(0, 2))).ok().model_version;
    const first = (await api.calibrateNg({ ...ids("Versions"), ok_scores: [0.01, 0.02, 0.03], ng_scores: [0.5, 0.04], rule: "f1" })).ok();
    const v2 = (await api.fitOk({ ...ids("Versions"), mm_per_px: MM }, fitImages)).ok().model_version;
    const second = (await api.calibrateNg({ ...ids("Versions"), ok_scores: [0.01, 0.02, 0.03, 0.05], rule: "false_alarm_rate", target: 0.25 })).ok();
    expect([first.model_version, second.model_version]).toEqual([v1, v2]);
    const listed = (await api.listModels(ids("Versions"))).ok().versions;
    expect(listed.map((v) => [v.version, v.calibration?.rule, v.calibration?.false_alarm_rate, v.calibration?.miss_rate])).toEqual([
      [v2, "false_alarm_rate", second.false_alarm_rate, null],
      [v1, "f1", first.false_alarm_rate, first.miss_rate],
    ]);
    (await api.activateModel({ ...ids("Versions"), version: v1 })).ok();
    const served = (await api.infer(ids("Versions"), probe)).ok();
    expect([served.model_version, served.threshold, served.calibration_rule, served.miss_rate]).toEqual([v1, first.threshold, "f1", first.miss_rate]);
  });

  it("the CLI: calibrate --rule --target --curve from the stored dataset, --rule f1 from folders", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "thresholds-cli-"));
    try {
      const model = ["--url", stack.url, "calibrate", "--role", "Thresholds", "--roi", "Line"];
      const stored = await cli([...model, "--rule", "false_alarm_rate", "--target", "0.2", "--curve"]);
      expect([stored.code, stored.stderr]).toEqual([0, ""]);
      const answer = JSON.parse(stored.stdout);
      expect(answer).toMatchObject({ rule: "false_alarm_rate", target: 0.2, false_alarm_rate: { estimated_on: "cross_validation", folds: 5, n: 10 } });
      expect(answer.curve.points.length).toBeGreaterThan(0);
      for (const [folder, image] of [
        ["ok", goodImage(31)],
        ["ng", defectImage(DEFECTS[0]!)],
      ] as const) {
        await mkdir(path.join(dir, folder));
        await writeFile(path.join(dir, folder, `${folder}.png`), await encodePng(image));
      }
      const folders = await cli([...model, "--ok", path.join(dir, "ok"), "--ng", path.join(dir, "ng"), "--rule", "f1"]);
      expect([folders.code, folders.stderr]).toEqual([0, ""]);
      expect(JSON.parse(folders.stdout)).toMatchObject({
        rule: "f1",
        target: null,
        false_alarm_rate: { estimated_on: "in_sample", n: 1 },
        miss_rate: { n: 1 },
      });
      // a rule without what it needs is a usage error, said before any request
      const wrong = await cli([...model, "--rule", "false_alarm_rate"]);
      expect([wrong.code, wrong.stderr.trim()]).toEqual([2, expect.stringMatching(/--rule false_alarm_rate needs --target/)]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("answers every malformed rule with a 400 naming the field; on a dataset without NG images, what each rule allows; scores at the percentile it stores", async () => {
    const cases: [Parameters<InspectionClient["calibrateNg"]>[0] | null, Parameters<InspectionClient["calibrateDataset"]>[0] | null, RegExp][] = [
      [
        { ...ids("Line"), ok_scores: [0.1], rule: "median" as "old" },
        { ...ids("Line"), rule: "median" as "old" },
        /^rule must be "old", "false_alarm_rate", "f1" or "fixed", got "median"$/,
      ],
      [
        { ...ids("Line"), ok_scores: [0.1], rule: "false_alarm_rate" },
        { ...ids("Line"), rule: "false_alarm_rate" },
        /^Missing field target: rule "false_alarm_rate"/,
      ],
      [
        { ...ids("Line"), ok_scores: [0.1], rule: "false_alarm_rate", target: 5 },
        { ...ids("Line"), rule: "false_alarm_rate", target: 5 },
        /^target must be a number between 0 and 1 \(exclusive\), e\.g\. 0\.005 for 0\.5 %, got 5$/,
      ],
      [
        { ...ids("Line"), ok_scores: [0.1], target: 0.01 },
        { ...ids("Line"), target: 0.01 },
        /^target applies only to rule "false_alarm_rate" \(rule is "old"\)$/,
      ],
      [{ ...ids("Line"), ok_scores: [0.1], rule: "f1" }, null, /^rule "f1" needs ng_scores: /],
      [null, { ...ids("Line"), include_curve: "yes" as unknown as boolean }, /^include_curve must be true or false$/],
    ];
    for (const [ngBody, datasetBody, message] of cases) {
      for (const reply of [ngBody && (await api.calibrateNg(ngBody)), datasetBody && (await api.calibrateDataset(datasetBody))]) {
        if (!reply) continue;
        const error = reply.error();
        expect([reply.status, error.code, error.error]).toEqual([400, "invalid_input", expect.stringMatching(message)]);
      }
    }
    // f1 on a dataset without NG images (require_ng false lets the old rule calibrate from OK images alone)
    (await api.clearDataset({ ...ids("Line"), label: "ng" })).ok();
    const noNg = (await api.calibrateDataset({ ...ids("Line"), rule: "f1", require_ng: false })).error();
    expect([noNg.code, noNg.error]).toEqual([
      "invalid_input",
      'rule "f1" needs NG images: the NG dataset has no scored image; upload some, or use rule "false_alarm_rate"',
    ]);
    const okOnly = (await api.calibrateDataset({ ...ids("Line"), require_ng: false })).ok();
    expect([okOnly.miss_rate, okOnly.n_ng, okOnly.warnings.map((w) => w.code)]).toEqual([null, 0, expect.arrayContaining(["no_ng_scores"])]);
    // the old rule needs NG images unless told otherwise; false_alarm_rate needs none
    expect((await api.calibrateDataset({ ...ids("Line") })).error().error).toBe("No NG samples available for calibration.");
    const rateOnly = (await api.calibrateDataset({ ...ids("Line"), rule: "false_alarm_rate", target: 0.2 })).ok();
    expect([rateOnly.rule, rateOnly.n_ng, rateOnly.miss_rate]).toEqual(["false_alarm_rate", 0, null]);
    // another score_percentile: the images are scored at the percentile stored (as the old backend), so /infer scores them the same after
    const at90 = (await api.calibrateDataset({ ...ids("Line"), require_ng: false, score_percentile: 90 })).ok();
    expect(at90.score_percentile).toBe(90);
    const inferred: number[] = [];
    for (const seed of [11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
      inferred.push((await api.infer({ ...ids("Line") }, await png(`g${seed}.png`, goodImage(seed)))).ok().score);
    expect(split(at90.scores).ok.sort((a, b) => a - b)).toEqual(inferred.sort((a, b) => a - b));
  });
});
