import path from "node:path";
import { calibrateFromScores } from "../../lib/app/calibration/calibrateScores";
import { fitOk } from "../../lib/app/fitting/fitOk";
import { inspectImage } from "../../lib/app/inspection/inspect";
import { activateModelVersion, deleteModelVersion, listModelVersions } from "../../lib/app/models/manageVersions";
import { createServices, type Services } from "../../lib/app/services";
import { loadConfig } from "../../lib/config";
import { standaloneContext } from "../../lib/context";
import type { UploadedFile } from "../../lib/contract/files";
import { parseWith } from "../../lib/contract/parse";
import { routes } from "../../lib/contract/routes";
import { ConflictError, InvalidInputError, NotFoundError, UnavailableError } from "../../lib/errors";
import { createLogger } from "../../lib/log";
import { PreconditionFailed, type PutOptions, type StoredBlob } from "../../lib/store/blobStore";
import { MemoryBlobStore } from "../../lib/store/memoryBlobStore";
import { VersionsWriteInDoubt } from "../../lib/store/versionRepository";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { PROJECT_ROOT } from "../helpers/testStack";

const W = 96;
const H = 72;
const png = (data: Buffer, field = "images", filename = "a.png"): UploadedFile => ({ field, filename, mimeType: "image/png", data });
const isVersions = (key: string) => key.endsWith("_versions.json");

/** An S3 that fails the way a real one can: after storing a write (its answer lost), or on a read. */
class FaultyStore extends MemoryBlobStore {
  /** Store the next versions write, then answer it with this error (a lost answer: the SDK's resend gets 412; a timeout: 503). */
  failAfterVersionsPut: Error | null = null;
  /** Fail the next n reads of the versions object. */
  failVersionsGets = 0;
  /** With failAfterVersionsPut: then fail the next n reads of the versions object (S3 down right after the write). */
  failGetsAfterThat = 0;
  /** Run before the next PUT of a key that matches. */
  beforePut: { match: (key: string) => boolean; run: () => Promise<void> } | null = null;

  override async put(key: string, body: Uint8Array, options: PutOptions): Promise<string> {
    const hook = this.beforePut;
    if (hook?.match(key)) {
      this.beforePut = null;
      await hook.run();
    }
    const etag = await super.put(key, body, options);
    const error = this.failAfterVersionsPut;
    if (error && isVersions(key)) {
      this.failAfterVersionsPut = null;
      this.failVersionsGets = this.failGetsAfterThat;
      this.failGetsAfterThat = 0;
      throw error;
    }
    return etag;
  }

  override async get(key: string): Promise<StoredBlob | null> {
    if (isVersions(key) && this.failVersionsGets > 0) {
      this.failVersionsGets--;
      throw new UnavailableError("S3 unreachable (test)");
    }
    return super.get(key);
  }
}

/** Model versions when S3 answers badly or other requests change them meanwhile (use cases on an S3-like store, the real ONNX session). */
describe("model versions under faults and races", () => {
  const ctx = () => standaloneContext(createLogger("silent"));
  const ids = { role_id: "R", roi_id: "Roi" };
  const good: Buffer[] = [];
  let probe: Buffer;
  let store: FaultyStore;
  let services: Services;

  beforeAll(async () => {
    for (const seed of [1, 2, 3, 4]) good.push(await encodePng(brushedMetal(W, H, seed)));
    probe = await encodePng(paintSpot(brushedMetal(W, H, 9), 48, 36, 6));
  });

  const servicesOn = (s: FaultyStore, env: Record<string, string> = {}) =>
    createServices(
      loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), MODEL_NAME: "texture-s14", ORT_THREADS: "1", LOG_LEVEL: "silent", ...env }),
      { blobStore: s },
    );
  const setUp = (env: Record<string, string> = {}) => {
    store = new FaultyStore();
    services = servicesOn(store, { CACHE_TTL_MS: "0", ...env });
  };
  const fit = async (seed: number, fields: Record<string, string> = {}, on = services) => {
    const images = [png(good[seed]!), png(good[(seed + 1) % 4]!)];
    const result = await fitOk(on, parseWith(routes.fitOk.request, { ...ids, mm_per_px: "0.1", ...fields, images }), ctx());
    if (!("fit_id" in result)) throw new Error("a job was started where a fit was expected");
    return result;
  };
  const list = () => listModelVersions(services, parseWith(routes.listModels.request, ids), ctx());
  const score = async (version?: number, on = services) =>
    (
      await inspectImage(
        on,
        parseWith(routes.infer.request, { ...ids, mm_per_px: "0.1", ...(version ? { model_version: String(version) } : {}), image: [png(probe, "image")] }),
        ctx(),
      )
    ).score;
  const activate = (version: number) => activateModelVersion(services, parseWith(routes.activateModel.request, { ...ids, version }), ctx());
  const remove = (version: number, on = services) =>
    deleteModelVersion(on, parseWith(routes.deleteModelVersion.request, { ...ids, version: String(version) }), ctx());
  const fitKeys = () => store.keys().filter((k) => k.includes("_fit."));

  it("records a fit once when its versions write landed but the answer was lost (the resend's 412); activate and delete likewise answer as done", async () => {
    setUp();
    const first = await fit(0);
    store.failAfterVersionsPut = new PreconditionFailed("versions");
    const second = await fit(1);
    expect(second.model_version).toBe(2);
    const listed = await list();
    expect(listed.versions.map((v) => [v.version, v.fit_id, v.active])).toEqual([
      [2, second.fit_id, true],
      [1, first.fit_id, false],
    ]);
    store.failAfterVersionsPut = new PreconditionFailed("versions");
    expect(await activate(1)).toMatchObject({ active_version: 1, previous_version: 2 });
    store.failAfterVersionsPut = new PreconditionFailed("versions");
    expect(await remove(2)).toMatchObject({ deleted: true, version: 2 });
    expect(fitKeys().some((k) => k.includes(second.fit_id))).toBe(false);
    expect((await list()).versions.map((v) => v.version)).toEqual([1]);
  });

  it("when S3 fails after a versions write was sent: done if the write is read back, else a 503 saying it is in doubt, and the new memory kept", async () => {
    setUp();
    await fit(0);
    // the write landed and is read back: the fit is done
    store.failAfterVersionsPut = new UnavailableError("timeout (test)");
    expect((await fit(1)).model_version).toBe(2);
    // the write landed but cannot be read back: in doubt, and the memory it names stays
    store.failAfterVersionsPut = new UnavailableError("timeout (test)");
    store.failGetsAfterThat = 1;
    const before = fitKeys();
    const failed = fit(2);
    await expect(failed).rejects.toThrow(VersionsWriteInDoubt);
    await expect(failed).rejects.toThrow(/the change may or may not be stored; list the versions \(GET \/models\) before trying again/);
    const added = fitKeys().filter((k) => !before.includes(k));
    expect(added.length).toBeGreaterThan(0);
    expect((await list()).active_version).toBe(3);
    expect(await score()).toBe(await score(3));
  });

  it("removes the new memory when the versions could not be read before any write (nothing was changed)", async () => {
    setUp();
    await fit(0);
    const before = fitKeys();
    store.failVersionsGets = 1;
    const error = await fit(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).not.toBeInstanceOf(VersionsWriteInDoubt);
    expect(fitKeys()).toEqual(before);
    expect((await list()).versions.map((v) => v.version)).toEqual([1]);
  });

  it("keeps the version that was active before (the rollback) when retention removes the oldest", async () => {
    setUp({ MAX_MODEL_VERSIONS: "3" });
    for (const seed of [0, 1, 2]) await fit(seed);
    await activate(1);
    const fourth = await fit(3);
    expect(fourth.deleted_versions).toEqual([2]);
    expect((await list()).versions.map((v) => v.version)).toEqual([4, 3, 1]);
    expect(await activate(1)).toMatchObject({ active_version: 1, previous_version: 4 });
  });

  it("refuses (409) an append whose parent was deleted while it ran, leaving the versions and the store as they were", async () => {
    setUp();
    const first = await fit(0);
    await fit(1);
    const before = store.keys();
    // delete version 1 just as the append stores its memory, after it read version 1's rows
    store.beforePut = { match: (key) => key.includes("_fit."), run: async () => void (await remove(1)) };
    const append = fit(2, { append: "true", model_version: "1" });
    await expect(append).rejects.toThrow(ConflictError);
    await expect(append).rejects.toThrow(/Version 1 was deleted while this append ran/);
    expect((await list()).versions.map((v) => v.version)).toEqual([2]);
    // what is left: all there was, but version 1's files (its delete's doing); nothing of the append
    expect(store.keys()).toEqual(before.filter((k) => !k.includes(first.fit_id)));
  });

  it("answers 404 for a version another container deleted, though this one's cached versions still name it", async () => {
    setUp();
    const cached = servicesOn(store, { CACHE_TTL_MS: "600000" });
    await fit(0);
    await fit(1);
    // both calibrated, so that container trusts its cached versions for CACHE_TTL_MS (an uncalibrated version is looked up every time)
    for (const model_version of [1, 2]) {
      await calibrateFromScores(services, parseWith(routes.calibrateNg.request, { ...ids, ok_scores: [0.1], model_version }), ctx());
    }
    await score(undefined, cached); // versions cached there (v2 active), v1's memory never loaded
    await remove(1);
    await expect(score(1, cached)).rejects.toThrow(NotFoundError);
  });

  it("refuses an append given both uploaded images and dataset_files", () => {
    expect(() => parseWith(routes.fitOk.request, { ...ids, mm_per_px: "0.1", append: "true", dataset_files: '["a.png"]', images: [png(good[0]!)] })).toThrow(
      InvalidInputError,
    );
    expect(() => parseWith(routes.fitOk.request, { ...ids, mm_per_px: "0.1", append: "true", dataset_files: '["a.png"]', images: [png(good[0]!)] })).toThrow(
      /append=true takes images or dataset_files, not both/,
    );
  });
});
