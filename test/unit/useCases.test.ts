import { readFileSync } from "node:fs";
import path from "node:path";
import { calibrateFromScores } from "../../lib/app/calibration/calibrateScores";
import { standaloneContext } from "../../lib/context";
import { fitUploadedImages } from "../../lib/app/fitting/fitImages";
import { inspectImage } from "../../lib/app/inspection/inspect";
import { loadMemory } from "../../lib/app/models/modelCache";
import { createServices, type Services } from "../../lib/app/services";
import { loadConfig } from "../../lib/config";
import { parseWith } from "../../lib/contract/parse";
import { routes } from "../../lib/contract/routes";
import type { UploadedFile } from "../../lib/contract/files";
import { CorruptArtefactError, DomainError, NotFittedError, TimeBudgetError, TooLargeError, UnavailableError } from "../../lib/errors";
import { createLogger } from "../../lib/log";
import { DEFAULT_TWO_STAGE, TwoStageScorer } from "../../lib/patchcore/knn/twoStage";
import { encodeId, modelIdentity, modelKeys } from "../../lib/store/keys";
import { decodeMemoryNpz } from "../../lib/store/npz";
import { MemoryBlobStore } from "../../lib/store/memoryBlobStore";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { PROJECT_ROOT } from "../helpers/testStack";

const W = 160;
const H = 120;
const png = (data: Buffer, field = "images", filename = "a.png"): UploadedFile => ({ field, filename, mimeType: "image/png", data });

/**
 * The use cases without any transport: typed commands in (parsed by the contract, as a batch
 * worker would build them), typed results out, the real ONNX session, an in-memory blob store.
 */
describe("use cases, transport-free (texture model, in-memory store)", () => {
  let store: MemoryBlobStore;
  let services: Services;
  const ctx = () => standaloneContext(createLogger("silent"));
  const good: Buffer[] = [];
  let defect: Buffer;

  beforeAll(async () => {
    for (const seed of [1, 2, 3, 4]) good.push(await encodePng(brushedMetal(W, H, seed)));
    defect = await encodePng(paintSpot(brushedMetal(W, H, 9), 80, 60, 8));
  });

  beforeEach(() => {
    store = new MemoryBlobStore();
    const config = loadConfig({
      MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"),
      MODEL_NAME: "texture-s14",
      ORT_THREADS: "1",
      CACHE_TTL_MS: "0",
      LOG_LEVEL: "silent",
    });
    services = createServices(config, { blobStore: store });
  });

  const fit = (fields: Record<string, string>, images = good.slice(0, 2)) =>
    fitUploadedImages(
      services,
      parseWith(routes.fitOk.request, { role_id: "R", roi_id: "Roi", mm_per_px: "0.1", ...fields, images: images.map((b) => png(b)) }),
      ctx(),
    );
  const inspect = (image: Buffer, fields: Record<string, string> = {}) =>
    inspectImage(services, parseWith(routes.infer.request, { role_id: "R", roi_id: "Roi", mm_per_px: "0.1", ...fields, image: [png(image, "image")] }), ctx());

  it("fits, calibrates and inspects; writes only the version's memory, the model's versions (with the calibration) and the recipe's mm_per_px lock", async () => {
    const fitted = await fit({});
    expect(fitted).toMatchObject({ n_images: 2, index: "none", role_id: "R", roi_id: "Roi", model_key: "Roi", recipe_id: "default" });
    const ok = (await inspect(good[2]!)).score;
    const ng = (await inspect(defect)).score;
    expect(ng).toBeGreaterThan(ok);
    const calibration = await calibrateFromScores(
      services,
      parseWith(routes.calibrateNg.request, { role_id: "R", roi_id: "Roi", ok_scores: [ok], ng_scores: [ng] }),
      ctx(),
    );
    expect(calibration.mm_per_px).toBe(0.1); // from the fit
    const flagged = await inspect(defect);
    expect(flagged.threshold).toBe(calibration.threshold);
    expect(flagged.regions.length).toBeGreaterThan(0);
    const base = `models/${encodeId("R")}__${encodeId("Roi")}`;
    expect(store.keys()).toEqual([`${base}_fit.${fitted.fit_id}.npz`, `${base}_versions.json`, `models/recipe-meta/${encodeId("default")}.json`]);
    expect([fitted.model_version, flagged.model_version, calibration.model_version]).toEqual([1, 1, 1]);
  });

  it("builds and uses the HNSW index when the one kNN policy says so (KNN_BACKEND=hnsw, small bank)", async () => {
    const config = loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), ORT_THREADS: "1", KNN_BACKEND: "hnsw", LOG_LEVEL: "silent" });
    services = createServices(config, { blobStore: store });
    expect((await fit({})).index).toBe("hnsw");
    expect((await inspect(defect)).knn).toBe("hnsw");
    const tooBig = createServices(
      loadConfig({ MODEL_DIR: config.model.dir, ORT_THREADS: "1", KNN_BACKEND: "hnsw", HNSW_MAX_ROWS: "10", LOG_LEVEL: "silent" }),
      { blobStore: store },
    );
    services = tooBig;
    expect((await fit({ role_id: "Big" })).index).toBe("none");
    expect((await inspect(defect, { role_id: "Big" })).knn).toBe("exact");
  });

  it("stores the two-stage search's basis with the memory when that search will score it, and the loaded scorer uses it", async () => {
    const config = loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), ORT_THREADS: "1", KNN_BACKEND: "two_stage", LOG_LEVEL: "silent" });
    services = createServices(config, { blobStore: store });
    const fitted = await fit({});
    expect(fitted.index).toBe("two_stage");
    expect(fitted.timings_ms.knn_basis).toBeGreaterThan(0);
    const keys = modelKeys(config.s3.prefix, modelIdentity("R", "Roi"));
    const stored = decodeMemoryNpz((await store.get(keys.memoryFor(fitted.fit_id)))!.body);
    expect(stored.shortlistBasis?.rank).toBe(Math.min(DEFAULT_TWO_STAGE.rank, stored.dim));
    const { memory } = await loadMemory(services, keys, keys.memoryFor(fitted.fit_id), true, ctx());
    expect((memory!.scorer as TwoStageScorer).basisSource).toBe("stored");
    const viaTwoStage = await inspect(defect);
    expect(viaTwoStage.knn).toBe("two_stage");
    // the same memory scored by brute force gives the same score, to the float32 graph's rounding
    // (it errs by up to ~1e-5 per patch; the two-stage search's distances are float64)
    services = createServices(loadConfig({ MODEL_DIR: config.model.dir, ORT_THREADS: "1", KNN_BACKEND: "exact", LOG_LEVEL: "silent" }), { blobStore: store });
    expect(Math.abs((await inspect(defect)).score - viaTwoStage.score)).toBeLessThanOrEqual(1e-5 * viaTwoStage.score);
    // a fit the exact search will score stores no basis
    const exact = await fit({});
    expect(exact.index).toBe("none");
    expect(decodeMemoryNpz((await store.get(keys.memoryFor(exact.fit_id)))!.body).shortlistBasis).toBeUndefined();
  });

  it("says not_fitted for an unknown memory and for a memory of another model's dimension", async () => {
    await expect(inspect(defect)).rejects.toThrow(NotFittedError);
    // 384-d embeddings, 2x2 tokens: written by the old backend for another model
    await store.put(`models/${encodeId("R")}__${encodeId("Roi")}.npz`, readFileSync(path.join(PROJECT_ROOT, "test/fixtures/old_backend_memory.npz")), {
      contentType: "application/octet-stream",
    });
    const error = await inspect(defect).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFittedError);
    expect((error as Error).message).toMatch(/Memory does not match the model: it has 4-d embeddings .* gives 108-d: run \/fit_ok again/);
  });

  it("refuses a corrupt stored memory, versions object or legacy calibration with corrupt_artefact, naming the key", async () => {
    const fitted = await fit({});
    const base = `models/${encodeId("R")}__${encodeId("Roi")}`;
    const versions = (await store.get(`${base}_versions.json`))!;
    await store.put(`${base}_versions.json`, Buffer.from('{"format": 1}'), { contentType: "application/json", metadata: versions.metadata });
    const corruptVersions = await inspect(defect).catch((e: unknown) => e);
    expect(corruptVersions).toBeInstanceOf(CorruptArtefactError);
    expect((corruptVersions as DomainError).message).toMatch(/model versions .*_versions\.json cannot be read .*restore its previous object version/);
    await store.put(`${base}_versions.json`, versions.body, { contentType: "application/json", metadata: versions.metadata });
    const npz = (await store.get(`${base}_fit.${fitted.fit_id}.npz`))!;
    await store.put(`${base}_fit.${fitted.fit_id}.npz`, npz.body.subarray(0, npz.body.length - 100), {
      contentType: "application/octet-stream",
      metadata: npz.metadata,
    });
    const memory = await inspect(defect).catch((e: unknown) => e);
    expect((memory as DomainError).code).toBe("corrupt_artefact");
    // a model stored before versions: its calibration file is read, and checked
    await store.delete(`${base}_versions.json`);
    await store.put(`${base}.npz`, npz.body, { contentType: "application/octet-stream", metadata: npz.metadata });
    await store.put(`${base}_calib.json`, Buffer.from('{"threshold": "high"}'), { contentType: "application/json" });
    const calib = await inspect(defect).catch((e: unknown) => e);
    expect(calib).toBeInstanceOf(CorruptArtefactError);
    expect((calib as DomainError).message).toMatch(/_calib\.json cannot be read \(threshold: /);
  });

  it("stops a fit that cannot finish in the remaining time before writing anything, saying what to do", async () => {
    services = createServices(
      loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), ORT_THREADS: "1", FIT_BATCH_SIZE: "1", LOG_LEVEL: "silent" }),
      { blobStore: store },
    );
    const short = { ...ctx(), remainingMs: () => 3050 }; // 3 s are kept for the writes: the 3 images after the first do not fit
    const error = await fitUploadedImages(
      services,
      parseWith(routes.fitOk.request, { role_id: "R", roi_id: "Roi", mm_per_px: "0.1", images: good.map((b) => png(b)) }),
      short,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeBudgetError);
    expect((error as Error).message).toMatch(
      /This fit of 4 images needs about \d+\.\d s more, and this function has 3\.0 s left .*use_dataset=true.*Nothing was stored/,
    );
    expect(store.keys()).toEqual([]);
  });

  it("bounds the decoded pixels of one request (MAX_REQUEST_PIXELS) from the headers, before decoding", async () => {
    services = createServices(
      loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), ORT_THREADS: "1", MAX_REQUEST_PIXELS: String(3 * W * H), LOG_LEVEL: "silent" }),
      { blobStore: store },
    );
    await expect(fit({}, good)).rejects.toThrow(TooLargeError);
    await expect(fit({}, good)).rejects.toThrow(`The 4 images hold ${4 * W * H} pixels in all, over the limit of ${3 * W * H} pixels per request`);
    await expect(fit({}, good.slice(0, 3))).resolves.toMatchObject({ n_images: 3 });
  });

  it("serves the cached memory, flagged stale, while S3 is unreachable; then 503 once it is older than STALE_IF_ERROR_MS", async () => {
    let down = false;
    const flaky = Object.assign(Object.create(store) as MemoryBlobStore, {
      head: (key: string) => (down ? Promise.reject(new UnavailableError("The model store is not available (HEAD)")) : store.head(key)),
      get: (key: string) => (down ? Promise.reject(new UnavailableError("The model store is not available (GET)")) : store.get(key)),
    });
    const config = loadConfig({
      MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"),
      ORT_THREADS: "1",
      CACHE_TTL_MS: "0",
      STALE_IF_ERROR_MS: "3000",
      LOG_LEVEL: "silent",
    });
    services = createServices(config, { blobStore: flaky });
    await fit({});
    await calibrateFromScores(services, parseWith(routes.calibrateNg.request, { role_id: "R", roi_id: "Roi", ok_scores: [0.1] }), ctx());
    const fresh = await inspect(defect);
    expect([fresh.memory_stale, fresh.calibration_stale]).toEqual([false, false]);
    down = true;
    const stale = await inspect(defect);
    expect(stale.memory_stale).toBe(true);
    expect(stale.score).toBe(fresh.score);
    await new Promise((resolve) => setTimeout(resolve, 3100));
    await expect(inspect(defect)).rejects.toThrow(UnavailableError);
  });

  it("sees a version's first calibration at once in another container, and an activation within CACHE_TTL_MS", async () => {
    const config = loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), ORT_THREADS: "1", CACHE_TTL_MS: "60000", LOG_LEVEL: "silent" });
    services = createServices(config, { blobStore: store });
    const other = createServices(config, { blobStore: store }); // another function's container
    await fit({});
    expect((await inspect(defect)).threshold).toBeNull(); // this container now holds the versions object
    const calibration = await calibrateFromScores(other, parseWith(routes.calibrateNg.request, { role_id: "R", roi_id: "Roi", ok_scores: [0.1] }), ctx());
    expect((await inspect(defect)).threshold).toBe(calibration.threshold);
    // a held, calibrated version is trusted for the TTL: a change elsewhere waits for it (or a cold container)
    const second = await fitUploadedImages(
      other,
      parseWith(routes.fitOk.request, { role_id: "R", roi_id: "Roi", mm_per_px: "0.1", images: good.slice(2, 4).map((b) => png(b)) }),
      ctx(),
    );
    expect((await inspect(defect)).model_version).toBe(1);
    services.versionCache.invalidate(modelKeys(config.s3.prefix, modelIdentity("R", "Roi")).versions);
    expect((await inspect(defect)).model_version).toBe(second.model_version);
  });

  it("records in the calibration the fit it was made for, and flags it stale after a re-fit", async () => {
    const first = await fit({});
    const calibration = await calibrateFromScores(services, parseWith(routes.calibrateNg.request, { role_id: "R", roi_id: "Roi", ok_scores: [0.1] }), ctx());
    expect(calibration.fit_id).toBe(first.fit_id);
    expect((await inspect(defect)).calibration_stale).toBe(false);
    const second = await fit({}, good.slice(1, 3));
    const after = await inspect(defect);
    expect(after.fit_id).toBe(second.fit_id);
    expect(after.calibration_stale).toBe(true);
    expect(after.threshold).toBe(calibration.threshold); // still applied, as the old backend did, but flagged
  });

  it("refuses include_anomaly_map on a ROI whose answer would pass Lambda's 6 MB, before any work", async () => {
    await fit({});
    services = createServices(
      loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), ORT_THREADS: "1", MAX_RESPONSE_BYTES: "100000", LOG_LEVEL: "silent" }),
      { blobStore: store },
    );
    await expect(inspect(defect, { include_anomaly_map: "true" })).rejects.toThrow(
      /include_anomaly_map=true on a 160x120 ROI would make a response of about 0\.1 MB, over the limit of 0\.1 MB .*smaller ROI \(at most about 125x125 px\)/,
    );
    expect((await inspect(defect)).score).toBeGreaterThan(0);
  });
});
