import type { S3Client } from "@aws-sdk/client-s3";
import { InspectionClient, type ImageFile } from "../../lib/contract/client";
import { datasetKeys } from "../../lib/store/keys";
import { getObject, putObject, s3Of } from "../helpers/api";
import { FaultProxy } from "../helpers/faultProxy";
import { freePort } from "../../scripts/util/ports";
import { syntheticPngs } from "../helpers/synthetic";
import { startTestStack, type TestStack } from "../helpers/testStack";

const W = 160;
const H = 120;
const ids = { role_id: "Fan", roi_id: "Out", recipe_id: "fan" };

/**
 * Workers fail the way they do in production: their S3 write fails. Each stack reaches S3 through
 * a fault proxy (test/helpers/faultProxy.ts) that resets chosen requests. A worker writes its
 * partial result to `<prefix>jobs/<job id>/chunks/<5-digit chunk>.npz` (a dataset fit's embed
 * task) or `.json` (batch scoring); the S3 SDK tries a reset request S3_MAX_ATTEMPTS times, so
 * cutting that many PUTs of a chunk fails one invocation of its worker, and cutting every one
 * fails it every time.
 */
const S3_MAX_ATTEMPTS = 3;
const chunkPut = (chunk: number, extension: "npz" | "json") =>
  new RegExp(`^PUT /[^/]+/models/jobs/[0-9a-f-]+/chunks/${String(chunk).padStart(5, "0")}\\.${extension}[? ]`);

/** A stack of the file's own, its S3 behind a fault proxy. */
async function startFaultyStack(env: Record<string, string>): Promise<{ stack: TestStack; proxy: FaultProxy }> {
  const s3Port = await freePort();
  const proxy = await FaultProxy.start({ port: s3Port });
  const stack = await startTestStack({ ...env, S3_MAX_ATTEMPTS: String(S3_MAX_ATTEMPTS), LOG_LEVEL: "info" }, { s3Port, serviceS3Endpoint: proxy.url });
  return { stack, proxy };
}

/** Uploads `good` OK and `bad` NG images (metas with mm_per_px 0.1) through presigned URLs. */
async function uploadDataset(api: InspectionClient, good: ImageFile[], bad: ImageFile[]) {
  for (const [label, files] of [
    ["ok", good],
    ["ng", bad],
  ] as const) {
    const links = (await api.createUploads({ ...ids, label, files: files.map(() => ({ content_type: "image/png" as const })) })).ok();
    await Promise.all(links.uploads.map((u, i) => fetch(u.url, { method: "PUT", headers: u.headers, body: Buffer.from(files[i]!.data) })));
    (
      await api.commitUploads({
        ...ids,
        label,
        uploads: links.uploads.map((u, i) => ({ upload_id: u.upload_id, meta: { mm_per_px: 0.1, filename: files[i]!.filename } })),
      })
    ).ok();
  }
}

/** Worker invocations that ended ("worker done") or failed ("worker failed"), from the service's JSON log lines. */
const workerLogs = (stack: TestStack, kind: "embed" | "score", outcome: "done" | "failed") =>
  (stack.output().match(new RegExp(`"message":"worker ${outcome}"[^\\n]*"worker":"${kind}"`, "g")) ?? []).length;

describe("dataset fit and batch scoring fanned out over worker Lambda invocations (serverless-offline's Lambda endpoint)", () => {
  const good: ImageFile[] = [];
  const bad: ImageFile[] = [];
  let sync: { stack: TestStack; proxy: FaultProxy };
  let jobs: { stack: TestStack; proxy: FaultProxy };
  /** 40 images of 640x480, over 10 MB, made while the rest starts. */
  let large: Promise<Buffer[]>;

  // both stacks start together and get their datasets; each describe below uses its own
  beforeAll(async () => {
    large = syntheticPngs(Array.from({ length: 40 }, (_, i) => ({ width: 640, height: 480, seed: 100 + i })));
    large.catch(() => undefined); // awaited by the test that uploads them
    const seeds = { good: Array.from({ length: 22 }, (_, i) => 1 + i), bad: [60, 61, 62, 63] };
    const made = await syntheticPngs([
      ...seeds.good.map((seed) => ({ width: W, height: H, seed })),
      ...seeds.bad.map((seed) => ({ width: W, height: H, seed, spot: { cx: 30 + (seed % 4) * 30, cy: 60, r: 8 } })),
    ]);
    good.push(...seeds.good.map((seed, i) => ({ filename: `ok_${seed}.png`, data: made[i]! })));
    bad.push(...seeds.bad.map((seed, i) => ({ filename: `ng_${seed}.png`, data: made[seeds.good.length + i]! })));
    [sync, jobs] = await Promise.all([
      startFaultyStack({ FIT_CHUNK_IMAGES: "5", SCORE_CHUNK_IMAGES: "6", FANOUT_WIDTH: "3", SYNC_BUDGET_MS: "120000", CACHE_TTL_MS: "0" }),
      startFaultyStack({ FIT_CHUNK_IMAGES: "6", SCORE_CHUNK_IMAGES: "8", FANOUT_WIDTH: "2", SYNC_BUDGET_MS: "0" }),
    ]);
    await Promise.all([
      uploadDataset(new InspectionClient(sync.stack.url, { validate: true }), good.slice(0, 20), bad),
      uploadDataset(new InspectionClient(jobs.stack.url, { validate: true }), good, bad),
    ]);
  }, 240_000);

  afterAll(async () => {
    for (const { stack, proxy } of [sync, jobs].filter(Boolean)) {
      await stack.stop();
      await proxy.close();
    }
  });

  describe("synchronous answers (the GUI's), a worker failing once", () => {
    let stack: TestStack;
    let proxy: FaultProxy;
    let s3: S3Client;
    let api: InspectionClient;

    beforeAll(() => {
      ({ stack, proxy } = sync);
      s3 = s3Of(stack.s3Endpoint);
      api = new InspectionClient(stack.url, { validate: true });
    });

    afterEach(() => proxy.clearCut());

    it("fits from the stored OK images: 4 workers of 5 images (one retried), two-stage coreset, the memory committed", async () => {
      expect((await api.fitOk({ ...ids, role_id: "Empty", mm_per_px: 0.1, use_dataset: true }, [])).error().error).toBe("No OK dataset samples found");
      // the second chunk's worker cannot write its partial coreset on its first invocation
      const match = chunkPut(1, "npz");
      proxy.cut({ match, afterBytes: 0, action: "reset", times: S3_MAX_ATTEMPTS });
      const fit = (await api.fitOk({ ...ids, mm_per_px: 0.1, use_dataset: true, memory_fit: false }, [])).ok();
      expect(fit).toMatchObject({
        n_images: 20,
        n_embeddings: 20 * 1024,
        coreset_size: Math.ceil(0.02 * 20 * 1024),
        fan_out: { workers: 4, chunk_images: 5, retried: 1, two_stage_coreset: true },
      });
      expect(proxy.stats.cuts.filter((line) => match.test(line))).toHaveLength(S3_MAX_ATTEMPTS);
      expect([workerLogs(stack, "embed", "done"), workerLogs(stack, "embed", "failed")]).toEqual([4, 1]);
      expect(stack.output()).toMatch(
        /worker failed: retrying its chunk once[^\n]*"chunk":1[^\n]*The model store is not available \(PUT models\/jobs\/[^\n]*\/chunks\/00001\.npz failed\)/,
      );
      expect((await api.state(ids)).ok().memory_fitted).toBe(true);
    });

    it("fits from a dataset larger than any request could carry: 40 images, over 10 MB, uploaded straight to S3", async () => {
      const big = { ...ids, role_id: "Big" };
      const images = await large;
      const bytes = images.reduce((sum, b) => sum + b.length, 0);
      expect(bytes).toBeGreaterThan(10 * 1024 * 1024);
      const links = (await api.createUploads({ ...big, label: "ok", files: images.map(() => ({ content_type: "image/png" as const })) })).ok();
      await Promise.all(links.uploads.map((u, i) => fetch(u.url, { method: "PUT", headers: u.headers, body: images[i]! })));
      (await api.commitUploads({ ...big, label: "ok", uploads: links.uploads.map((u) => ({ upload_id: u.upload_id, meta: { mm_per_px: 0.1 } })) })).ok();
      const fit = (await api.fitOk({ ...big, mm_per_px: 0.1, use_dataset: true }, [])).ok();
      expect(fit).toMatchObject({ n_images: 40, n_embeddings: 40 * 1024, fan_out: { workers: 8, chunk_images: 5 } });
    }, 180_000);

    it("needs a calibration for /infer_dataset (400 calibration_missing), then calibrates from the dataset as /calibrate_ng would from the same scores", async () => {
      const missing = (await api.inferDataset({ ...ids, role_id: "Fan" })).error();
      expect([missing.code, missing.error]).toEqual(["calibration_missing", "calibration_missing"]);
      const calibrated = (await api.calibrateDataset({ ...ids, area_mm2_thr: 0.5 })).ok();
      expect(calibrated).toMatchObject({ status: "ok", n_ok: 20, n_ng: 4, score_percentile: 99, area_mm2_thr: 0.5 });
      expect(calibrated.scores).toHaveLength(24);
      const ok = calibrated.scores.filter((s) => s.label === "ok").map((s) => s.score!);
      const ng = calibrated.scores.filter((s) => s.label === "ng").map((s) => s.score!);
      const direct = (await api.calibrateNg({ ...ids, ok_scores: ok, ng_scores: ng, area_mm2_thr: 0.5 })).ok();
      expect(calibrated.threshold).toBe(direct.threshold);
      expect([calibrated.p_ok, calibrated.p5_ng]).toEqual([direct.p99_ok, direct.p5_ng]);
    });

    it("scores the whole dataset with the scores /infer gives each image, one corrupt image an item error, a failed worker retried", async () => {
      const before = [workerLogs(stack, "score", "done"), workerLogs(stack, "score", "failed")];
      const listing = (await api.listDataset(ids)).ok();
      // corrupt one stored NG image in place (its SHA-256 no longer matches)
      const key = datasetKeys("models/", { roleId: ids.role_id, roiId: ids.roi_id, recipeId: ids.recipe_id }).file("ng", listing.classes.ng!.files[1]!);
      const original = await getObject(s3, stack.bucket, key);
      await putObject(s3, stack.bucket, key, Buffer.from("not an image"), original.metadata);
      // the third chunk's worker cannot write its scores on its first invocation
      const match = chunkPut(2, "json");
      proxy.cut({ match, afterBytes: 0, action: "reset", times: S3_MAX_ATTEMPTS });
      const batch = (await api.inferDataset({ ...ids, include_heatmap: true })).ok();
      expect(batch).toMatchObject({ status: "ok", n_total: 24, n_errors: 1, fan_out: { workers: 4, retried: 1, failed: 0 } });
      expect(proxy.stats.cuts.filter((line) => match.test(line))).toHaveLength(S3_MAX_ATTEMPTS);
      // 4 chunks, the third failing on its first attempt and done on its second
      expect([workerLogs(stack, "score", "done") - before[0]!, workerLogs(stack, "score", "failed") - before[1]!]).toEqual([4, 1]);
      const broken = batch.items.find((i) => i.error !== null)!;
      expect(broken).toMatchObject({
        label: "ng",
        filename: listing.classes.ng!.files[1],
        score: null,
        error: expect.stringMatching(/dataset image .* cannot be read/),
      });
      for (const item of batch.items.filter((i) => i.error === null).slice(0, 6)) {
        const bytes = await api.datasetFile({ ...ids, label: item.label, filename: item.filename });
        const single = (await api.infer({ ...ids, mm_per_px: 0.1 }, { filename: item.filename, data: bytes.bytes })).ok();
        expect(item.score).toBe(single.score);
        expect(item.heatmap_png_base64).toBe(single.heatmap_png_base64);
        expect(item.regions).toEqual(single.regions);
      }
      const defects = batch.items.filter((i) => i.label === "ng" && i.error === null);
      expect(defects.every((i) => i.n_regions > 0 && i.score! > i.threshold!)).toBe(true);
    });
  });

  describe("jobs: over the synchronous budget, 202 then GET /jobs/{id}; a worker failing every time", () => {
    let stack: TestStack;
    let proxy: FaultProxy;
    let api: InspectionClient;

    beforeAll(() => {
      ({ stack, proxy } = jobs);
      api = new InspectionClient(stack.url, { validate: true });
    });

    afterEach(() => proxy.clearCut());

    it("a fit whose worker fails twice ends failed with the reason, and the previous model stays as it was", async () => {
      const previous = (await api.fitOk({ ...ids, mm_per_px: 0.1 }, good.slice(0, 3))).ok();
      const probe: ImageFile = bad[0]!;
      const before = (await api.infer({ ...ids, mm_per_px: 0.1 }, probe)).ok();
      // the third chunk's worker can never write its partial coreset
      const match = chunkPut(2, "npz");
      proxy.cut({ match, afterBytes: 0, action: "reset" });
      const accepted = (await api.fitOk({ ...ids, mm_per_px: 0.1, use_dataset: true }, [])).accepted();
      expect(accepted).toMatchObject({ status: "accepted", job_state: "queued", status_url: `/jobs/${accepted.job_id}`, n_images: 22 });
      const states: string[] = [];
      const job = await api.waitForJob(accepted.job_id, { intervalMs: 250, timeoutMs: 120_000, onProgress: (j) => states.push(j.state) });
      expect(job).toMatchObject({
        kind: "fit",
        state: "failed",
        chunks: { total: 4, failed: 1, retried: 1 },
        error: {
          code: "unavailable",
          error: expect.stringMatching(
            /chunk 2 \(images 12-17\) failed twice \(.*The model store is not available \(PUT models\/jobs\/.*\/chunks\/00002\.npz failed\).*\)\. Nothing was stored; the previous model is unchanged/,
          ),
        },
      });
      // two invocations of that worker, each trying its write S3_MAX_ATTEMPTS times, all of this job's
      const cuts = proxy.stats.cuts.filter((line) => match.test(line));
      expect(cuts).toHaveLength(2 * S3_MAX_ATTEMPTS);
      expect(cuts.every((line) => line.includes(`/jobs/${accepted.job_id}/`))).toBe(true);
      const after = (await api.infer({ ...ids, mm_per_px: 0.1 }, probe)).ok();
      expect([after.fit_id, after.score]).toEqual([previous.fit_id, before.score]);
    });

    it("a batch job reports progress, and the items of a chunk whose worker fails twice carry that error", async () => {
      (await api.calibrateNg({ ...ids, ok_scores: [0.01], ng_scores: [0.5] })).ok();
      // the first chunk's worker can never write its scores
      proxy.cut({ match: chunkPut(0, "json"), afterBytes: 0, action: "reset" });
      const accepted = (await api.inferDataset(ids)).accepted();
      const seen: number[] = [];
      const job = await api.waitForJob(accepted.job_id, { intervalMs: 200, timeoutMs: 120_000, onProgress: (j) => seen.push(j.progress.done) });
      expect(job).toMatchObject({
        kind: "infer_dataset",
        state: "done",
        progress: { total: 26, done: 18, errors: 8 },
        chunks: { total: 4, done: 3, failed: 1, retried: 1 },
      });
      expect(job.result).toMatchObject({ n_total: 26, n_errors: 8 });
      const full = (await (await fetch(job.result_url!)).json()) as { items: { error: string | null }[] };
      expect(full.items).toHaveLength(26);
      const failure = new RegExp(
        `^this image's worker failed twice: worker score chunk 0 failed: .*The model store is not available \\(PUT models/jobs/${accepted.job_id}/chunks/00000\\.json failed\\)`,
      );
      expect(full.items.slice(0, 8).map((i) => i.error)).toEqual(Array.from({ length: 8 }, () => expect.stringMatching(failure)));
      expect(full.items.slice(8).every((i) => i.error === null)).toBe(true);
      expect((await api.getJob("00000000-0000-0000-0000-000000000000")).error().code).toBe("not_found");
      expect((await fetch(`${stack.url}/jobs/not-a-job`)).status).toBe(400);
    });
  });
});
