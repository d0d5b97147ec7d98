import sharp from "sharp";
import type { S3Client } from "@aws-sdk/client-s3";
import { InspectionClient, type ImageFile } from "../../lib/contract/client";
import { encodeId } from "../../lib/store/keys";
import { bucketSnapshot, fetchJson, postRaw, s3Of } from "../helpers/api";
import { dotnetMultipart } from "../helpers/dotnetMultipart";
import { brushedMetal, encodeJpeg, encodePng } from "../../scripts/synthetic/images";
import { sharedStack, type TestStack } from "../helpers/testStack";

/** The dataset store over HTTP (serverless-offline + S3 server), as the old backend's later version and its GUI use it. */
describe("datasets over HTTP", () => {
  let stack: TestStack;
  let s3: S3Client;
  let api: InspectionClient;
  const png = async (seed: number, name = `${seed}.png`): Promise<ImageFile> => ({ filename: name, data: await encodePng(brushedMetal(160, 120, seed)) });

  beforeAll(async () => {
    stack = await sharedStack("main"); // CACHE_TTL_MS=0
    s3 = s3Of(stack.s3Endpoint);
    api = new InspectionClient(stack.url, { validate: true });
  }, 180_000);

  it("uploads, lists, serves, describes, deletes and clears, with stored names the service gives", async () => {
    const ids = { role_id: "Master1", roi_id: "Pattern", recipe_id: "ds-1" };
    const good = [await png(1, "C:\\\\captures\\\\a.png"), await png(2, "b.png")];
    const saved = (
      await api.uploadDataset("ok", ids, good, [{ mm_per_px: 0.2, shape_json: { kind: "rect", x: 0, y: 0, w: 160, h: 120 } }, { mm_per_px: 0.2 }])
    ).ok();
    expect(saved).toMatchObject({ status: "ok", recipe_id: "ds-1" });
    expect(saved.saved).toHaveLength(2);
    for (const name of saved.saved) expect(name).toMatch(/^\d{8}-\d{6}-\d{6}-[0-9a-f]{12}\.png$/);
    const jpeg = { filename: "bad.jpg", data: await encodeJpeg(brushedMetal(160, 120, 9)) };
    const ng = (await api.uploadDataset("ng", ids, [jpeg])).ok().saved[0]!;
    expect(ng).toMatch(/\.jpg$/);

    const listed = (await api.listDataset(ids)).ok();
    expect(listed).toMatchObject({ role_id: "Master1", roi_id: "Pattern", recipe_id: "ds-1" });
    expect(listed.classes.ok).toEqual({ count: 2, files: [...saved.saved].sort(), meta: Object.fromEntries(saved.saved.map((f) => [f, true])) });
    expect(listed.classes.ng!.files).toEqual([ng]);

    const meta = (await api.datasetMeta({ ...ids, label: "ok", filename: saved.saved[0]! })).ok();
    expect(meta).toMatchObject({
      mm_per_px: 0.2,
      shape_json: { kind: "rect" },
      role_id: "Master1",
      roi_id: "Pattern",
      label: "ok",
      filename: saved.saved[0],
      recipe_id: "ds-1",
      original_filename: "a.png",
    }); // busboy keeps the base name of a path
    expect(typeof meta.created_at_utc).toBe("string");

    const file = await api.datasetFile({ ...ids, label: "ng", filename: ng });
    expect([file.status, file.contentType]).toEqual([200, "image/jpeg"]);
    expect(Buffer.from(file.bytes).equals(Buffer.from(jpeg.data))).toBe(true);

    expect((await api.deleteDatasetFile({ ...ids, label: "ok", filename: saved.saved[0]! })).ok()).toMatchObject({ deleted: true, filename: saved.saved[0] });
    expect((await api.deleteDatasetFile({ ...ids, label: "ok", filename: saved.saved[0]! })).ok().deleted).toBe(false);
    expect((await api.clearDataset({ ...ids, label: "ng" })).ok()).toMatchObject({ cleared: 1, label: "ng" });
    const after = (await api.listDataset(ids)).ok();
    expect(after.classes.ok!.files).toEqual([saved.saved[1]]);
    expect(after.classes).not.toHaveProperty("ng");
    // the deleted files' bytes are gone too: only the index and the one remaining image are stored
    const folder = `models/datasets/${encodeId("ds-1")}/${encodeId("Master1")}__${encodeId("Pattern")}/`;
    const keys = Object.keys(await bucketSnapshot(s3, stack.bucket)).filter((k) => k.startsWith(folder));
    expect(keys).toHaveLength(2);
  });

  it("answers unknown files with 404 and bad labels or names with 400, as JSON", async () => {
    const ids = { role_id: "Master1", roi_id: "Pattern", recipe_id: "ds-2" };
    const missing = await api.datasetFile({ ...ids, label: "ok", filename: "20260101-000000-000000-000000000000.png" });
    expect([missing.status, missing.error?.code]).toEqual([404, "not_found"]);
    expect((await api.datasetMeta({ ...ids, label: "ok", filename: "nope.png" })).error().code).toBe("not_found");
    const badLabel = await fetchJson(`${stack.url}/datasets/list?role_id=a&roi_id=b&label=ok`);
    expect(badLabel.status).toBe(200); // list takes no label
    const wrong = await fetchJson(`${stack.url}/datasets/meta?role_id=a&roi_id=b&label=maybe&filename=x.png`);
    expect([wrong.status, wrong.body.error]).toEqual([400, 'label must be "ok" or "ng", got "maybe"']);
    const traversal = await fetchJson(`${stack.url}/datasets/file?role_id=a&roi_id=b&label=ok&filename=..%2F..%2Fmodels%2Fx.npz`);
    expect(traversal.status).toBe(400);
    expect((await api.uploadDataset("ok", ids, [await png(3)], [{}, {}])).error().error).toMatch(/metas has 2 entries for 1 images/);
    expect((await api.uploadDataset("ok", ids, [await png(3)], [{ mm_per_px: -1 }])).error().error).toMatch(
      /metas\[0\]: mm_per_px must be a number > 0, got -1/,
    );
    // a truncated image (its header intact) is refused whole: stored, it would fail every later fit
    const whole = await png(5);
    const cut = { filename: "cut.png", data: whole.data.subarray(0, Math.floor(whole.data.length * 0.6)) };
    const before = (await api.listDataset(ids)).ok().classes.ok?.count ?? 0;
    const truncated = (await api.uploadDataset("ok", ids, [whole, cut])).error();
    expect([truncated.code, truncated.error]).toEqual([
      "invalid_input",
      expect.stringMatching(/^images\[1\] \(cut\.png\): the image data is corrupt or truncated/),
    ]);
    expect((await api.listDataset(ids)).ok().classes.ok?.count ?? 0).toBe(before);
  });

  it("locks mm_per_px per recipe: the first value given fixes it, another is a 409 naming both, until unlocked", async () => {
    const ids = { role_id: "Lock", roi_id: "R", recipe_id: "lock-line" };
    (await api.uploadDataset("ok", ids, [await png(4)], [{ mm_per_px: 0.2 }])).ok();
    expect((await api.getRecipeSettings("lock-line")).ok().mm_per_px).toBe(0.2);
    const conflict = (await api.fitOk({ ...ids, mm_per_px: 0.3 }, [await png(5)])).error();
    expect([conflict.code, conflict.error]).toEqual([
      "conflict",
      expect.stringMatching(/^mm_per_px 0.3 differs from 0.2, the value locked for recipe "lock-line"/),
    ]);
    expect((await api.uploadDataset("ok", ids, [await png(6)], [{ mm_per_px: 0.25 }])).status).toBe(409);
    (await api.fitOk({ ...ids, mm_per_px: 0.2000000001 }, [await png(5)])).ok(); // within the tolerance
    (await api.putRecipeSettings({ recipe_id: "lock-line", unlock_mm_per_px: true })).ok();
    (await api.fitOk({ ...ids, mm_per_px: 0.3 }, [await png(5)])).ok();
    expect((await api.getRecipeSettings("lock-line")).ok().mm_per_px).toBe(0.3);
  });

  it("takes direct uploads: presigned PUTs to S3, then a commit with metas; unknown uploads are refused", async () => {
    const ids = { role_id: "Direct", roi_id: "R", recipe_id: "direct" };
    const images = await Promise.all([11, 12, 13].map((s) => png(s)));
    const links = (
      await api.createUploads({ ...ids, label: "ok", files: images.map((f) => ({ filename: f.filename, content_type: "image/png" as const })) })
    ).ok();
    expect(links.uploads).toHaveLength(3);
    for (const [i, upload] of links.uploads.entries()) {
      const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: Buffer.from(images[i]!.data) });
      expect(put.status).toBe(200);
    }
    // this test's scratch objects (the bucket is shared with other test files)
    const scratch = async () => Object.keys(await bucketSnapshot(s3, stack.bucket)).filter((k) => links.uploads.some((u) => k.includes(u.upload_id)));
    expect(await scratch()).toHaveLength(3);
    const refused = (await api.commitUploads({ ...ids, label: "ok", uploads: [{ upload_id: "00000000-0000-0000-0000-000000000000" }] })).error();
    expect(refused.error).toMatch(/nothing was uploaded for upload_id 00000000-/);
    // a truncated upload is refused at the commit, and the commit stores nothing
    const [cutLink] = (await api.createUploads({ ...ids, label: "ok", files: [{ filename: "cut.png", content_type: "image/png" as const }] })).ok().uploads;
    await fetch(cutLink!.url, { method: cutLink!.method, headers: cutLink!.headers, body: Buffer.from(images[0]!.data.subarray(0, 400)) });
    const cutCommit = (
      await api.commitUploads({ ...ids, label: "ok", uploads: [{ upload_id: links.uploads[0]!.upload_id }, { upload_id: cutLink!.upload_id }] })
    ).error();
    expect(cutCommit.error).toMatch(/^uploads\[1\] \([0-9a-f-]+\): the image data is corrupt or truncated/);
    expect((await api.listDataset(ids)).ok().classes.ok?.count ?? 0).toBe(0);
    const committed = (
      await api.commitUploads({
        ...ids,
        label: "ok",
        uploads: links.uploads.map((u, i) => ({ upload_id: u.upload_id, meta: { mm_per_px: 0.1, filename: images[i]!.filename } })),
      })
    ).ok();
    expect(committed.saved).toHaveLength(3);
    expect((await api.listDataset(ids)).ok().classes.ok!.count).toBe(3);
    const file = await api.datasetFile({ ...ids, label: "ok", filename: committed.saved[2]! });
    expect(Buffer.from(file.bytes).equals(Buffer.from(images[2]!.data))).toBe(true);
    // the scratch objects are gone once committed
    expect(await scratch()).toEqual([]);
  });

  it("replays the GUI: OPTIONS probes, one image per upload with a SampleMetadata part typed application/json, then /state", async () => {
    for (const [path, method] of [
      ["/fit_ok", "POST"],
      ["/calibrate_ng", "POST"],
      ["/datasets/ok/upload", "POST"],
      ["/datasets/file", "GET, DELETE"],
      ["/state", "GET"],
    ]) {
      const probe = await fetch(`${stack.url}${path}`, { method: "OPTIONS", headers: { "X-Request-Id": "gui-probe", "X-Recipe-Id": "gui" } });
      expect([path, probe.status, probe.headers.get("allow")]).toEqual([path, 200, `${method}, OPTIONS`]);
    }
    expect((await fetch(`${stack.url}/no_such_route`, { method: "OPTIONS" })).status).toBe(404);
    const sample = {
      role_id: "Master1",
      roi_id: "Inspection_1",
      label: "ok",
      filename: "sample_001.png",
      angle: 12.5,
      timestamp: "2026-11-25T10:00:00+01:00",
      mm_per_px: 0.05,
      shape_json: { kind: "circle", cx: 80, cy: 60, r: 50 },
      created_at_utc: null,
      source_path: "D:\\\\Captures\\\\sample_001.png",
    };
    const request = dotnetMultipart([
      { kind: "string", name: "role_id", value: "Master1" },
      { kind: "string", name: "roi_id", value: "Inspection_1" },
      { kind: "file", name: "images", filename: "sample_001.png", data: (await png(21)).data, contentType: "image/png" },
      { kind: "string", name: "metas", value: JSON.stringify(sample), contentType: "application/json; charset=utf-8" },
    ]);
    const res = await postRaw(`${stack.url}/datasets/ok/upload`, request.contentType, request.body, { "X-Request-Id": "gui-up-1", "X-Recipe-Id": "gui" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "ok", request_id: "gui-up-1", recipe_id: "gui" });
    const stored = (await api.datasetMeta({ role_id: "Master1", roi_id: "Inspection_1", recipe_id: "gui", label: "ok", filename: res.body.saved[0] })).ok();
    expect(stored).toMatchObject({ ...sample, created_at_utc: expect.any(String), filename: "sample_001.png" });
    const state = (await api.state({ role_id: "Master1", roi_id: "Inspection_1", recipe_id: "gui" })).ok();
    expect(state).toMatchObject({ status: "ok", memory_fitted: false, calib_present: false, model_key: "Inspection_1", recipe_id: "gui" });
    const manifest = (await api.manifest({ role_id: "Master1", roi_id: "Inspection_1", recipe_id: "gui" })).ok();
    expect(manifest).toMatchObject({ memory: false, calib: null, datasets: { classes: { ok: { count: 1 } } } });
  });

  it("keeps parallel uploads to one dataset: none is lost", async () => {
    const ids = { role_id: "Parallel", roi_id: "R", recipe_id: "par" };
    const images = await Promise.all([31, 32, 33, 34, 35, 36].map((s) => png(s)));
    const results = await Promise.all(images.map((image) => api.uploadDataset("ok", ids, [image], [{ mm_per_px: 0.1 }])));
    expect(results.map((r) => [r.status, r.status === 200 ? "" : JSON.stringify(r.body)])).toEqual(images.map(() => [200, ""]));
    expect((await api.listDataset(ids)).ok().classes.ok!.count).toBe(6);
  });

  it("serves a stored image with its size intact", async () => {
    const ids = { role_id: "Size", roi_id: "R", recipe_id: "size" };
    const saved = (await api.uploadDataset("ok", ids, [await png(41)])).ok().saved[0]!;
    const file = await api.datasetFile({ ...ids, label: "ok", filename: saved });
    expect(await sharp(Buffer.from(file.bytes)).metadata()).toMatchObject({ width: 160, height: 120, format: "png" });
  });
});
