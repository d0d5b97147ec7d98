import { readFileSync } from "node:fs";
import path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { InspectionClient, type ImageFile } from "../../lib/contract/client";
import { modelIdentity, modelKeys } from "../../lib/store/keys";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { bucketSnapshot, putObject, s3Of } from "../helpers/api";
import { sharedStack, type TestStack } from "../helpers/testStack";

const W = 160;
const H = 120;
const file = (data: Uint8Array, filename = "roi.png"): ImageFile => ({ filename, data });
/** A good part's benign mark the first fits never saw (a bright stamp): a false alarm until taught. */
const stamp = (seed: number) => paintSpot(brushedMetal(W, H, seed), 110, 40, 9, [215, 215, 220]);
/** A defect: a rust spot. */
const rust = (seed: number) => paintSpot(brushedMetal(W, H, seed), 50, 80, 8);

/** The raw anomaly map of an /infer answer (include_anomaly_map=true): Float32Array [H, W]. */
function mapOf(body: { anomaly_map?: { data_base64: string } }): Float32Array {
  const bytes = Buffer.from(body.anomaly_map!.data_base64, "base64");
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

describe("model versions over HTTP: every fit kept, candidates, rollback, calibration per version, learning from false alarms", () => {
  let stack: TestStack;
  let api: InspectionClient;
  let s3: S3Client;
  const setA: Buffer[] = [];
  const setB: Buffer[] = [];
  let probe: Buffer;

  beforeAll(async () => {
    stack = await sharedStack("main"); // CACHE_TTL_MS=0
    api = new InspectionClient(stack.url, { validate: true });
    s3 = s3Of(stack.s3Endpoint);
    for (const seed of [1, 2, 3]) setA.push(await encodePng(brushedMetal(W, H, seed)));
    for (const seed of [11, 12, 13, 14, 15]) setB.push(await encodePng(brushedMetal(W, H, seed)));
    probe = await encodePng(rust(30));
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const ids = (roi: string) => ({ role_id: "Versions", roi_id: roi, mm_per_px: 0.1 });
  const fit = (roi: string, images: readonly Buffer[], fields: Record<string, string | number | boolean> = {}) =>
    api.fitOk(
      { ...ids(roi), ...fields },
      images.map((b, i) => file(b, `ok_${i}.png`)),
    );
  const infer = (roi: string, image: Buffer, fields: Record<string, string | number | boolean> = {}) => api.infer({ ...ids(roi), ...fields }, file(image));

  it("numbers every fit, lists them newest first, scores with any, rolls back with one call, and keeps a threshold per version", async () => {
    const v1 = (await fit("Roll", setA)).ok();
    const v2 = (await fit("Roll", setB)).ok();
    expect([v1.model_version, v1.active_version, v2.model_version, v2.active_version]).toEqual([1, 1, 2, 2]);
    expect([v1.source, v2.source, v2.parent_version, v2.deleted_versions]).toEqual(["images", "images", null, []]);

    const listed = (await api.listModels({ role_id: "Versions", roi_id: "Roll" })).ok();
    expect(listed).toMatchObject({ active_version: 2, model_key: "Roll", recipe_id: "default" });
    expect(listed.versions.map((v) => [v.version, v.active, v.source, v.n_images, v.fit_id])).toEqual([
      [2, true, "images", 5, v2.fit_id],
      [1, false, "images", 3, v1.fit_id],
    ]);
    expect(listed.versions[1]).toMatchObject({
      coreset_size: v1.coreset_size,
      n_embeddings: v1.n_embeddings,
      memory_fit: false,
      calibration: null,
      parent_version: null,
    });

    const byV1 = (await infer("Roll", probe, { model_version: 1 })).ok();
    const byV2 = (await infer("Roll", probe)).ok();
    expect([byV1.model_version, byV1.fit_id, byV2.model_version, byV2.fit_id]).toEqual([1, v1.fit_id, 2, v2.fit_id]);
    expect(byV1.score).not.toBe(byV2.score);

    // a threshold for v1 while it is active, then v2 active again: v2 serves v1's threshold only as inherited
    (await api.activateModel({ role_id: "Versions", roi_id: "Roll", version: 1 })).ok();
    const cal1 = (await api.calibrateNg({ role_id: "Versions", roi_id: "Roll", ok_scores: [0.01, 0.02], ng_scores: [byV1.score] })).ok();
    expect([cal1.model_version, cal1.fit_id]).toEqual([1, v1.fit_id]);
    // calibrate v2 while v1 is active: v1's threshold unchanged
    const cal2 = (await api.calibrateNg({ role_id: "Versions", roi_id: "Roll", ok_scores: [0.03, 0.04], ng_scores: [byV2.score], model_version: 2 })).ok();
    expect([cal2.model_version, cal2.fit_id]).toEqual([2, v2.fit_id]);
    expect(cal2.threshold).not.toBe(cal1.threshold);
    const served1 = (await infer("Roll", probe)).ok();
    expect([served1.model_version, served1.score, served1.threshold, served1.calibration_inherited]).toEqual([1, byV1.score, cal1.threshold, false]);

    const swap = (await api.activateModel({ role_id: "Versions", roi_id: "Roll", version: 2 })).ok();
    expect([swap.active_version, swap.previous_version]).toEqual([2, 1]);
    const served2 = (await infer("Roll", probe)).ok();
    expect([served2.model_version, served2.score, served2.threshold]).toEqual([2, byV2.score, cal2.threshold]);
    // roll back: exactly the old behaviour, same score to the bit, same threshold
    (await api.activateModel({ role_id: "Versions", roi_id: "Roll", version: 1 })).ok();
    const back = (await infer("Roll", probe)).ok();
    expect([back.model_version, back.score, back.threshold, back.heatmap_png_base64]).toEqual([
      1,
      served1.score,
      served1.threshold,
      served1.heatmap_png_base64,
    ]);
    expect((await api.state({ role_id: "Versions", roi_id: "Roll" })).ok()).toMatchObject({ memory_fitted: true, calib_present: true, active_version: 1 });

    // the active version cannot be deleted; another can, and its number is never given again
    const conflict = (await api.deleteModelVersion({ role_id: "Versions", roi_id: "Roll", version: 1 })).error();
    expect([conflict.code, conflict.error]).toEqual(["conflict", expect.stringMatching(/Version 1 is the active one: activate another/)]);
    expect((await api.deleteModelVersion({ role_id: "Versions", roi_id: "Roll", version: 2 })).ok()).toMatchObject({ deleted: true, version: 2 });
    const gone = (await infer("Roll", probe, { model_version: 2 })).error();
    expect([gone.code, gone.error]).toEqual(["not_found", expect.stringMatching(/No version 2 of the model .*see GET \/models/)]);
    expect((await api.activateModel({ role_id: "Versions", roi_id: "Roll", version: 2 })).error().code).toBe("not_found");
    expect((await api.deleteModelVersion({ role_id: "Versions", roi_id: "Roll", version: 2 })).error().code).toBe("not_found");
    expect((await fit("Roll", setA.slice(0, 2))).ok().model_version).toBe(3);
    expect((await api.listModels({ role_id: "Versions", roi_id: "Roll" })).ok().versions.map((v) => v.version)).toEqual([3, 1]);
    // nothing of v2 is left in the store
    const stored = Object.keys(await bucketSnapshot(s3, stack.bucket));
    expect(stored.filter((k) => k.includes(v2.fit_id))).toEqual([]);
  });

  it("keeps a candidate (activate=false) apart: listed, scored when named, never served by default", async () => {
    const live = (await fit("Cand", setA)).ok();
    const candidate = (await fit("Cand", setB, { activate: false })).ok();
    expect([candidate.model_version, candidate.active_version, candidate.calibration_inherited]).toEqual([2, 1, false]);
    const served = (await infer("Cand", probe)).ok();
    const tried = (await infer("Cand", probe, { model_version: 2 })).ok();
    expect([served.model_version, served.fit_id, tried.model_version, tried.fit_id]).toEqual([1, live.fit_id, 2, candidate.fit_id]);
    expect((await api.listModels({ role_id: "Versions", roi_id: "Cand" })).ok().versions.map((v) => [v.version, v.active])).toEqual([
      [2, false],
      [1, true],
    ]);
    // a batch and a calibration can name it too
    const calibrated = (await api.calibrateNg({ role_id: "Versions", roi_id: "Cand", ok_scores: [0.05], model_version: 2 })).ok();
    expect(calibrated.model_version).toBe(2);
    expect((await infer("Cand", probe)).ok().threshold).toBeNull(); // the live version is still uncalibrated
  });

  it("races 10 activations with inferences: every answer's score is exactly that of the version it reports", async () => {
    (await fit("Race", setA)).ok();
    (await fit("Race", setB)).ok();
    const truth = new Map<number, number>();
    for (const v of [1, 2]) truth.set(v, (await infer("Race", probe, { model_version: v })).ok().score);
    const activations = Array.from({ length: 10 }, (_, i) => api.activateModel({ role_id: "Versions", roi_id: "Race", version: 1 + (i % 2) }));
    const inferences = Array.from({ length: 12 }, () => infer("Race", probe));
    const [activated, inferred] = await Promise.all([Promise.all(activations), Promise.all(inferences)]);
    expect(activated.map((r) => r.status)).toEqual(activated.map(() => 200));
    for (const answer of inferred.map((r) => r.ok()))
      expect([answer.model_version, answer.score]).toEqual([answer.model_version, truth.get(answer.model_version)]);
    const final = (await api.listModels({ role_id: "Versions", roi_id: "Race" })).ok();
    expect(final.versions.filter((v) => v.active).map((v) => v.version)).toEqual([final.active_version]);
    expect((await infer("Race", probe)).ok().model_version).toBe(final.active_version);
  });

  it("teaches a false alarm in one call (append): its score falls under the threshold, the pattern is learnt, defects stay, no map value rises", async () => {
    const parent = (await fit("Teach", setB)).ok();
    const okScores = [];
    for (const seed of [40, 41, 42]) okScores.push((await infer("Teach", await encodePng(brushedMetal(W, H, seed)))).ok().score);
    const ngScores = [];
    for (const seed of [43, 44]) ngScores.push((await infer("Teach", await encodePng(rust(seed)))).ok().score);
    const { threshold } = (await api.calibrateNg({ role_id: "Versions", roi_id: "Teach", ok_scores: okScores, ng_scores: ngScores })).ok();

    const falseAlarm = await encodePng(stamp(50));
    const sameStamp = await encodePng(stamp(51));
    const defect = await encodePng(rust(52));
    const before = (await infer("Teach", falseAlarm)).ok();
    expect(before.score).toBeGreaterThan(threshold); // a good part flagged as defective
    const probes = [falseAlarm, sameStamp, defect, await encodePng(brushedMetal(W, H, 53))];
    const parentMaps = [];
    for (const image of probes) parentMaps.push(mapOf((await infer("Teach", image, { include_anomaly_map: true })).ok()));

    const taught = (await fit("Teach", [falseAlarm], { append: true })).ok();
    expect(taught).toMatchObject({ model_version: 2, active_version: 2, source: "append", parent_version: 1, calibration_inherited: true });
    expect(taught.appended).toMatchObject({ images: 1, patches: 1024 });
    expect(taught.appended!.rows_added).toBeGreaterThan(0);
    expect(taught.coreset_size).toBe(parent.coreset_size + taught.appended!.rows_added);

    const after = (await infer("Teach", falseAlarm)).ok();
    expect([after.model_version, after.threshold, after.calibration_inherited]).toEqual([2, threshold, true]);
    expect(after.score).toBeLessThan(threshold);
    expect((await infer("Teach", sameStamp)).ok().score).toBeLessThan(threshold);
    expect((await infer("Teach", defect)).ok().score).toBeGreaterThan(threshold);
    // every anomaly-map value of every probe is at most the parent's: the memory only grew
    for (const [i, image] of probes.entries()) {
      const child = mapOf((await infer("Teach", image, { include_anomaly_map: true })).ok());
      let rises = 0;
      for (let p = 0; p < child.length; p++) if (child[p]! > parentMaps[i]![p]!) rises++;
      expect([i, rises]).toEqual([i, 0]);
    }
    const listed = (await api.listModels({ role_id: "Versions", roi_id: "Teach" })).ok().versions[0]!;
    expect(listed).toMatchObject({ version: 2, source: "append", parent_version: 1, calibration_inherited: true, n_images: 6 });
    // calibrating the new version makes the threshold its own
    (await api.calibrateNg({ role_id: "Versions", roi_id: "Teach", ok_scores: okScores, ng_scores: ngScores })).ok();
    expect((await infer("Teach", falseAlarm)).ok().calibration_inherited).toBe(false);
  });

  it("appends good images already in the OK dataset by name, and refuses what it cannot append to, saying the fix", async () => {
    const nothing = (await fit("Empty", [await encodePng(stamp(60))], { append: true })).error();
    expect([nothing.code, nothing.error]).toEqual(["invalid_input", expect.stringMatching(/has none yet: fit it first \(\/fit_ok without append\)/)]);
    (await fit("Named", setA)).ok();
    const saved = (await api.uploadDataset("ok", { role_id: "Versions", roi_id: "Named" }, [file(await encodePng(stamp(61)), "flagged.png")])).ok().saved;
    const missing = (await fit("Named", [], { append: true, dataset_files: JSON.stringify(["no-such.png"]) })).error();
    expect(missing.error).toMatch(/dataset_files: "no-such.png" is not in the OK dataset/);
    const taught = (await fit("Named", [], { append: true, dataset_files: JSON.stringify(saved) })).ok();
    expect(taught).toMatchObject({ model_version: 2, parent_version: 1, appended: { images: 1 } });
    expect((await fit("Named", setA, { model_version: 1 })).error().error).toMatch(/model_version names the version to append to: send it with append=true/);
    expect((await fit("Named", [], { append: true, use_dataset: true })).error().error).toMatch(
      /append=true takes images or dataset_files, not use_dataset=true/,
    );
    expect((await fit("Named", [await encodePng(stamp(62))], { append: true, model_version: 9 })).error().code).toBe("not_found");
  });

  it("reads a memory written by the old backend as version 1, active, served exactly as before; a fit adds version 2", async () => {
    const identity = modelIdentity("Versions", "Old");
    const keys = modelKeys("models/", identity);
    await putObject(s3, stack.bucket, keys.legacyMemory, readFileSync(path.join(__dirname, "../fixtures/old_backend_memory_108d.npz")));
    const listed = (await api.listModels({ role_id: "Versions", roi_id: "Old" })).ok();
    expect(listed).toMatchObject({ active_version: 1 });
    expect(listed.versions).toEqual([
      expect.objectContaining({ version: 1, source: "legacy", active: true, fit_id: null, coreset_size: 40, parent_version: null }),
    ]);
    const legacy = (await infer("Old", probe)).ok();
    expect([legacy.model_version, legacy.fit_id]).toEqual([1, null]);
    const next = (await fit("Old", setA)).ok();
    expect([next.model_version, next.active_version]).toEqual([2, 2]);
    expect((await api.listModels({ role_id: "Versions", roi_id: "Old" })).ok().versions.map((v) => [v.version, v.source])).toEqual([
      [2, "images"],
      [1, "legacy"],
    ]);
    (await api.activateModel({ role_id: "Versions", roi_id: "Old", version: 1 })).ok();
    expect((await infer("Old", probe)).ok().score).toBe(legacy.score);
  });

  it("keeps at most MAX_MODEL_VERSIONS, removing the oldest that is neither active nor the active one's parent, and says so", async () => {
    // this stack keeps 20: fill them, then the 21st fit removes version 1
    for (let i = 0; i < 20; i++) expect((await fit("Keep", [setA[i % 3]!])).ok().model_version).toBe(i + 1);
    const overflow = (await fit("Keep", [setB[0]!])).ok();
    expect([overflow.model_version, overflow.deleted_versions]).toEqual([21, [1]]);
    const versions = (await api.listModels({ role_id: "Versions", roi_id: "Keep" })).ok().versions.map((v) => v.version);
    expect([versions.length, versions[0], versions.at(-1)]).toEqual([20, 21, 2]);
  }, 120_000);
});
