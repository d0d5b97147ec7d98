import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { S3Client } from "@aws-sdk/client-s3";
import { InspectionClient, type ImageFile } from "../../lib/contract/client";
import { routes } from "../../lib/contract/routes";
import { HTTP_STATUS } from "../../lib/http/errorResponse";
import type { ErrorCode } from "../../lib/errors";
import { percentile } from "../../lib/patchcore/percentile";
import { encodeId } from "../../lib/store/keys";
import { bucketSnapshot, fetchJson, getObject, postForm, postJson, postRaw, putObject, s3Of, type FormValue } from "../helpers/api";
import { dotnetMultipart } from "../helpers/dotnetMultipart";
import { brushedMetal, encodeJpeg, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { scoreInProcess } from "../helpers/inProcess";
import { startTestStack, type TestStack } from "../helpers/testStack";

const W = 320;
const H = 200;
const SPOTS = [
  { seed: 40, cx: 80, cy: 60, r: 9 },
  { seed: 41, cx: 250, cy: 150, r: 9 },
  { seed: 42, cx: 160, cy: 100, r: 10 },
  { seed: 43, cx: 45, cy: 165, r: 9 },
];
const png = (data: Uint8Array, filename = "roi.png"): FormValue => ({ filename, data });
const file = (data: Uint8Array, filename = "roi.png"): ImageFile => ({ filename, data });
const IDS = { role_id: "Master1", roi_id: "Pattern", mm_per_px: 0.1 };

describe("the API over HTTP (serverless-offline + S3 server)", () => {
  let stack: TestStack;
  let s3: S3Client;
  let api: InspectionClient;
  let url: (path: string) => string;
  const images: { train: Buffer[]; heldOut: Buffer[]; defects: Buffer[] } = { train: [], heldOut: [], defects: [] };
  const base: [string, FormValue][] = [
    ["role_id", "Master1"],
    ["roi_id", "Pattern"],
    ["mm_per_px", "0.1"],
  ];
  /** Master1/Pattern is fitted on images.train and calibrated on two held-out and two defect scores. */
  let threshold = 0;
  let calibrationScores: { ok: number[]; ng: number[] };

  const infer = (image: Buffer, fields: Partial<typeof IDS> & Record<string, string | number | boolean> = {}) => api.infer({ ...IDS, ...fields }, file(image));
  const score = async (image: Buffer, fields: Partial<typeof IDS> & Record<string, string | number | boolean> = {}) => (await infer(image, fields)).ok().score;
  const fit = (ids: Partial<typeof IDS> & Record<string, string | number | boolean>, training: readonly Buffer[]) =>
    api.fitOk(
      { ...IDS, ...ids },
      training.map((b, i) => file(b, `ok_${i}.png`)),
    );

  // Every case below reads what this sets up, and writes only under its own ids: each runs alone (-t) or in any order.
  beforeAll(async () => {
    stack = await startTestStack({ CACHE_TTL_MS: "0", MAX_FILES: "8", MAX_FILE_BYTES: "1500000", MAX_REQUEST_BYTES: "2500000" });
    s3 = s3Of(stack.s3Endpoint);
    api = new InspectionClient(stack.url, { validate: true });
    url = (p) => `${stack.url}${p}`;
    images.train = await Promise.all([1, 2, 3, 4, 5, 6].map((s) => encodePng(brushedMetal(W, H, s))));
    images.heldOut = await Promise.all([20, 21, 22, 23].map((s) => encodePng(brushedMetal(W, H, s))));
    images.defects = await Promise.all(SPOTS.map((s) => encodePng(paintSpot(brushedMetal(W, H, s.seed), s.cx, s.cy, s.r))));
    (await fit({}, images.train)).ok();
    calibrationScores = {
      ok: await Promise.all(images.heldOut.slice(0, 2).map((b) => score(b))),
      ng: await Promise.all(images.defects.slice(0, 2).map((b) => score(b))),
    };
    threshold = (
      await api.calibrateNg({ role_id: "Master1", roi_id: "Pattern", ok_scores: calibrationScores.ok, ng_scores: calibrationScores.ng, area_mm2_thr: 0.5 })
    ).ok().threshold;
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("fits a memory and answers with the old backend's fields; no index is stored when the kNN policy will not read it", async () => {
    const res = await fit({ role_id: "Fields" }, images.train);
    expect(res.status).toBe(200);
    expect(res.ok()).toMatchObject({
      n_embeddings: 6 * 1024,
      coreset_size: Math.ceil(0.02 * 6 * 1024),
      token_shape: [32, 32],
      coreset_rate_requested: 0.02,
      coreset_rate_applied: Math.ceil(0.02 * 6 * 1024) / (6 * 1024),
      model: "texture-s14-v1",
      index: "none",
    });
    const stored = Object.keys(await bucketSnapshot(s3, stack.bucket));
    const key = `models/${encodeId("Fields")}__${encodeId("Pattern")}`;
    const { fit_id } = res.ok();
    expect(stored).toEqual(expect.arrayContaining([`${key}_fit.${fit_id}.npz`, `${key}_versions.json`]));
    expect(stored.filter((k) => k.startsWith(`${key}_index.`))).toEqual([]);
    const inferred = (await infer(images.heldOut[0]!, { role_id: "Fields" })).ok();
    expect(inferred.knn).toBe("exact");
  });

  it("infers before calibration: a score and heatmap, threshold null, no regions", async () => {
    (await fit({ role_id: "Uncalibrated" }, images.train.slice(0, 2))).ok();
    const res = (await infer(images.defects[0]!, { role_id: "Uncalibrated" })).ok();
    expect(res).toMatchObject({ role_id: "Uncalibrated", roi_id: "Pattern", threshold: null, regions: [], token_shape: [32, 32] });
    expect(res.params).toEqual({ extractor: "texture-s14-v1", input_size: 448, coreset_rate: 0.02, score_percentile: 99 });
    const heatmap = await sharp(Buffer.from(res.heatmap_png_base64, "base64")).metadata();
    expect([heatmap.format, heatmap.width, heatmap.height, heatmap.channels]).toEqual(["png", W, H, 1]);
    expect(res).not.toHaveProperty("anomaly_map");
  });

  it("calibrates from OK and NG scores with the old backend's rule", async () => {
    const { ok, ng } = calibrationScores;
    expect(Math.min(...ng)).toBeGreaterThan(Math.max(...ok));
    const again = (await api.calibrateNg({ role_id: "Master1", roi_id: "Pattern", ok_scores: ok, ng_scores: ng, area_mm2_thr: 0.5 })).ok();
    // numpy linear percentile of two values; p5_ng > p_ok here, so the midpoint
    const pOk = Math.min(...ok) + 0.99 * Math.abs(ok[1]! - ok[0]!);
    const p5 = Math.min(...ng) + 0.05 * Math.abs(ng[1]! - ng[0]!);
    expect(again.threshold).toBeCloseTo((pOk + p5) / 2, 10);
    expect(again.threshold).toBe(threshold);
    expect(again).toMatchObject({ p99_ok: expect.closeTo(pOk, 10), p5_ng: expect.closeTo(p5, 10), mm_per_px: 0.1, area_mm2_thr: 0.5, score_percentile: 99 });
  });

  it("calibrates before a fit when the body carries mm_per_px, as the old backend; the fit then uses it", async () => {
    const ids = { role_id: "CalibFirst", roi_id: "R" };
    const early = (await api.calibrateNg({ ...ids, ok_scores: calibrationScores.ok, ng_scores: calibrationScores.ng, mm_per_px: 0.1 })).ok();
    expect(early).toMatchObject({ fit_id: null, mm_per_px: 0.1, threshold: threshold });
    (await fit(ids, images.train)).ok();
    const res = (await infer(images.defects[0]!, ids)).ok();
    expect(res).toMatchObject({ threshold, calibration_stale: false });
    expect(res.regions.length).toBeGreaterThan(0);
  });

  it("measures region areas by the recipe's rule: pixels by default, the old backend's contour area when the recipe says so", async () => {
    const ids = { role_id: "Areas", roi_id: "R", recipe_id: "old-line" };
    expect((await api.getRecipeSettings("old-line")).ok()).toMatchObject({
      recipe_id: "old-line",
      area_rule: "pixels",
      area_rule_source: "service default",
      mm_per_px: null,
    });
    (await fit(ids, images.train)).ok();
    (await api.calibrateNg({ ...ids, ok_scores: calibrationScores.ok, ng_scores: calibrationScores.ng, area_mm2_thr: 0 })).ok();
    const byPixels = (await infer(images.defects[0]!, ids)).ok();
    expect((await api.putRecipeSettings({ recipe_id: "old-line", area_rule: "contour" })).ok()).toMatchObject({
      area_rule: "contour",
      area_rule_source: "recipe",
    });
    const byContour = (await infer(images.defects[0]!, ids)).ok();
    expect([byPixels.area_rule, byContour.area_rule]).toEqual(["pixels", "contour"]);
    expect(byContour.regions[0]!.bbox).toEqual(byPixels.regions[0]!.bbox);
    // the polygon through the outer pixel centres is smaller than the pixel count: by the boundary's half-pixel band
    expect(byContour.regions[0]!.area_px).toBeLessThan(byPixels.regions[0]!.area_px);
    expect(byContour.regions[0]!.area_px).toBeGreaterThan(0.75 * byPixels.regions[0]!.area_px);
    // the default recipe is untouched
    expect((await infer(images.defects[0]!)).ok().area_rule).toBe("pixels");
    expect((await api.putRecipeSettings({ recipe_id: "old-line", area_rule: null })).ok().area_rule_source).toBe("service default");
  });

  it("flags the painted defects with a region over the paint and passes good parts", async () => {
    for (const image of images.heldOut.slice(2)) {
      const res = (await infer(image)).ok();
      expect(res.threshold).toBe(threshold);
      expect(res.score).toBeLessThan(threshold);
      expect(res.regions).toEqual([]);
    }
    for (const [i, spot] of SPOTS.entries()) {
      const res = (await infer(images.defects[i]!)).ok();
      expect(res.score).toBeGreaterThan(threshold);
      const [x, y, w, h] = res.regions[0]!.bbox;
      expect(spot.cx >= x && spot.cx < x + w && spot.cy >= y && spot.cy < y + h).toBe(true);
      expect(res.regions[0]!.area_mm2).toBeCloseTo(res.regions[0]!.area_px * 0.01, 8);
      expect(res.regions[0]!.contour.length).toBeGreaterThanOrEqual(4);
    }
  });

  it("changes the result with each shape kind as it should", async () => {
    const defect = images.defects[1]!; // spot at (250, 150)
    const withShape = async (shape?: object) => (await infer(defect, shape ? { shape: JSON.stringify(shape) } : {})).ok();
    const whole = await withShape();
    const circle = await withShape({ kind: "circle", cx: 250, cy: 150, r: 30 });
    const rectAway = await withShape({ kind: "rect", x: 0, y: 0, w: 150, h: 200 });
    const annulusAround = await withShape({ kind: "annulus", cx: 250, cy: 150, r: 70, r_inner: 45 });
    expect(circle.score).toBeGreaterThan(threshold);
    expect(circle.regions.length).toBeGreaterThan(0);
    expect(rectAway.score).toBeLessThan(threshold);
    expect(rectAway.regions).toEqual([]);
    expect(annulusAround.score).toBeLessThan(circle.score);
    expect(annulusAround.regions).toEqual([]);
    expect(whole.regions.length).toBeGreaterThan(0);
    // the heatmap is black outside the shape
    const { data, info } = await sharp(Buffer.from(rectAway.heatmap_png_base64, "base64")).toColourspace("b-w").raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(1);
    for (let y = 0; y < H; y += 7) for (let x = 150; x < W; x += 7) expect(data[y * W + x]).toBe(0);
  });

  it("sees a re-fit at once (CACHE_TTL_MS=0), and memory_fit keeps every patch", async () => {
    const ids = { role_id: "Refit", roi_id: "R" };
    const defect = images.defects[2]!;
    (await fit(ids, images.train.slice(0, 2))).ok();
    const before = await score(defect, ids);
    const refit = (await fit({ ...ids, memory_fit: true }, [images.train[0]!, defect])).ok();
    expect(refit).toMatchObject({ n_embeddings: 2048, coreset_size: 2048, coreset_rate_requested: 1, coreset_rate_applied: 1, memory_fit: true });
    const inferred = (await infer(defect, ids)).ok();
    expect(inferred.params.coreset_rate).toBe(1); // a full bank, as the old backend reports it
    const after = inferred.score;
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(1e-3); // every patch of the image is now in the memory
  });

  it("keeps recipes apart: the recipe_id field and the X-Recipe-Id header name the same model", async () => {
    const ids = { role_id: "Recipes", roi_id: "R" };
    const defect = images.defects[3]!;
    (await fit(ids, images.train.slice(0, 3))).ok();
    (await fit({ ...ids, recipe_id: "line-2", memory_fit: true }, [images.train[0]!, defect])).ok(); // the defect is "good" in line-2
    const byDefault = await score(defect, ids);
    const byField = await score(defect, { ...ids, recipe_id: "line-2" });
    const byHeader = (await api.infer({ ...IDS, ...ids }, file(defect), { "X-Recipe-Id": "line-2" })).ok();
    expect(byDefault).toBeGreaterThan(0.1);
    expect(byField).toBeLessThan(1e-3);
    expect(byHeader.score).toBe(byField);
    expect(byHeader.recipe_id).toBe("line-2");
    const elsewhere = (await infer(defect, { ...ids, recipe_id: "line-3" })).error();
    expect(elsewhere.code).toBe("not_fitted");
  });

  it("serves a memory .npz written by the old Python backend, dropped into the bucket, with the same score as the file scored in-process", async () => {
    const npz = readFileSync(path.join(__dirname, "../fixtures/old_backend_memory_108d.npz"));
    // in a recipe of its own: its line's scale (0.2 mm/px) is not the default recipe's
    await putObject(s3, stack.bucket, `models/recipes/${encodeId("legacy")}/${encodeId("Legacy")}__${encodeId("Roi ñ")}.npz`, npz);
    const res = (await infer(images.heldOut[0]!, { role_id: "Legacy", roi_id: "Roi ñ", recipe_id: "legacy", mm_per_px: 0.2 })).ok();
    expect(res).toMatchObject({ threshold: null, token_shape: [32, 32], params: { coreset_rate: 0.02 }, knn: "exact" });
    const expected = await scoreInProcess(npz, images.heldOut[0]!);
    expect(Math.abs(res.score - expected) / expected).toBeLessThan(1e-6);
    // and not the score of another memory
    expect(Math.abs(res.score - (await score(images.heldOut[0]!)))).toBeGreaterThan(1e-3);
  });

  it("answers a truncated stored memory with 503 corrupt_artefact naming the key and the remedy, never caches it, and a re-fit repairs it", async () => {
    const ids = { role_id: "Corrupt", roi_id: "R" };
    const { fit_id } = (await fit(ids, images.train.slice(0, 2))).ok();
    const key = `models/${encodeId("Corrupt")}__${encodeId("R")}_fit.${fit_id}.npz`;
    const whole = await getObject(s3, stack.bucket, key);
    // what a store that writes in place leaves after a cut upload: the first half, under the same metadata
    await putObject(s3, stack.bucket, key, whole.body.subarray(0, whole.body.length >> 1), whole.metadata);
    for (let i = 0; i < 2; i++) {
      const res = (await infer(images.defects[0]!, ids)).error();
      expect(res.code).toBe("corrupt_artefact");
      expect(res.error).toContain(key);
      expect(res.error).toMatch(/do not match the SHA-256 written with it .*run \/fit_ok .* again/);
    }
    (await fit(ids, images.train.slice(0, 2))).ok();
    expect((await infer(images.defects[0]!, ids)).status).toBe(200);
  });

  it("returns the raw anomaly map only when asked (include_anomaly_map=true)", async () => {
    const res = (await infer(images.defects[0]!, { include_anomaly_map: true })).ok();
    expect(res.anomaly_map).toMatchObject({ width: W, height: H, dtype: "float32" });
    const map = new Float32Array(Buffer.from(res.anomaly_map!.data_base64, "base64").buffer.slice(0));
    expect(map.length).toBe(W * H);
    // the score is the map's 99th percentile (the whole ROI: no shape)
    expect(res.score).toBeCloseTo(percentile(map, 99), 6);
  });

  it("serves its OpenAPI 3.1 document, with every route of the contract", async () => {
    const doc = (await api.openapi()).ok() as { openapi: string; paths: Record<string, Record<string, { operationId: string }>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual([...new Set(Object.values(routes).map((r) => `/${r.path}`))].sort());
    expect(doc.paths["/infer"]!.post!.operationId).toBe("infer");
  });

  it("replays the GUI's exact .NET requests", async () => {
    const fitRequest = dotnetMultipart([
      { kind: "string", name: "role_id", value: "Master1" },
      { kind: "string", name: "roi_id", value: "Gui ROI" },
      { kind: "string", name: "mm_per_px", value: "0.1" },
      { kind: "string", name: "memory_fit", value: "false" },
      { kind: "string", name: "model_key", value: "gui-key" },
      ...images.train.slice(0, 3).map((data, i) => ({ kind: "file" as const, name: "images", filename: `roi ${i} é.png`, data, contentType: "image/png" })),
    ]);
    const fitted = await postRaw(url("/fit_ok"), fitRequest.contentType, fitRequest.body, { "X-Request-Id": "gui-fit-1" });
    expect(fitted.status).toBe(200);
    expect(fitted.body).toMatchObject({ n_embeddings: 3072, model_key: "gui-key", roi_id: "Gui ROI", request_id: "gui-fit-1" });
    expect(fitted.headers.get("x-request-id")).toBe("gui-fit-1");

    const calibration = await postRaw(
      url("/calibrate_ng"),
      "application/json; charset=utf-8",
      JSON.stringify({
        role_id: "Master1",
        roi_id: "Gui ROI",
        model_key: "gui-key",
        mm_per_px: 0.1,
        ok_scores: [0.03, 0.04],
        ng_scores: null,
        area_mm2_thr: 0.5,
        score_percentile: 99,
      }),
    );
    expect(calibration.status).toBe(200);
    expect(calibration.body).toMatchObject({ p5_ng: null, ng_mean: 0, threshold: expect.closeTo(0.0399, 10) });

    const jpeg = await encodeJpeg(paintSpot(brushedMetal(W, H, 44), 250, 150, 9));
    const request = dotnetMultipart([
      { kind: "string", name: "role_id", value: "Master1" },
      { kind: "string", name: "roi_id", value: "Gui ROI" },
      { kind: "string", name: "mm_per_px", value: "0.1" },
      { kind: "string", name: "shape", value: JSON.stringify({ kind: "circle", cx: 250, cy: 150, r: 40 }) },
      { kind: "string", name: "model_key", value: "gui-key" },
      { kind: "file", name: "image", filename: "capture.jpg", data: jpeg, contentType: "image/jpeg" },
    ]);
    const inferred = await postRaw(url("/infer"), request.contentType, request.body);
    expect(inferred.status).toBe(200);
    expect(inferred.body.score).toBeGreaterThan(inferred.body.threshold);
    expect(inferred.body.regions.length).toBeGreaterThan(0);
  });

  describe("bad requests: a clear 4xx JSON error each, and nothing stored changes", () => {
    let before: Record<string, string>;
    const tiny = Buffer.alloc(10, 1);
    // fields are built when a case runs, after beforeAll made the images
    const fitWith = (fields: () => [string, FormValue][]) => () => postForm(url("/fit_ok"), fields());
    const inferWith = (fields: () => [string, FormValue][]) => () => postForm(url("/infer"), fields());
    const good = (): FormValue => png(images.train[0]!);

    beforeAll(async () => {
      before = await bucketSnapshot(s3, stack.bucket);
    });

    afterAll(async () => {
      expect(await bucketSnapshot(s3, stack.bucket)).toEqual(before);
    });

    const cases: [string, () => Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>, number, RegExp][] = [
      ["fit_ok: text/plain body", () => postRaw(url("/fit_ok"), "text/plain", "hello"), 415, /multipart\/form-data/],
      ["fit_ok: a JSON body", () => postJson(url("/fit_ok"), { role_id: "a" }), 415, /multipart\/form-data/],
      [
        "fit_ok: multipart header, body not multipart",
        () => postRaw(url("/fit_ok"), "multipart/form-data; boundary=xyz", "this is not a multipart body"),
        400,
        /^Malformed multipart body: Unexpected end of form/,
      ],
      [
        "fit_ok: missing role_id",
        fitWith(() => [
          ["roi_id", "R"],
          ["mm_per_px", "0.1"],
          ["images", good()],
        ]),
        400,
        /Missing field role_id/,
      ],
      [
        "fit_ok: empty roi_id",
        fitWith(() => [
          ["role_id", "M"],
          ["roi_id", ""],
          ["mm_per_px", "0.1"],
          ["images", good()],
        ]),
        400,
        /roi_id must not be empty/,
      ],
      [
        "fit_ok: role_id twice",
        fitWith(() => [
          ["role_id", "M"],
          ["role_id", "N"],
          ["roi_id", "R"],
          ["mm_per_px", "0.1"],
          ["images", good()],
        ]),
        400,
        /role_id is sent 2 times/,
      ],
      ["fit_ok: mm_per_px not a number", fitWith(() => [...base.slice(0, 2), ["mm_per_px", "abc"], ["images", good()]]), 400, /mm_per_px must be a number/],
      ["fit_ok: mm_per_px with a decimal comma", fitWith(() => [...base.slice(0, 2), ["mm_per_px", "0,2"], ["images", good()]]), 400, /invariant culture/],
      ["fit_ok: mm_per_px zero", fitWith(() => [...base.slice(0, 2), ["mm_per_px", "0"], ["images", good()]]), 400, /mm_per_px must be a number > 0, got 0/],
      [
        "fit_ok: mm_per_px negative",
        fitWith(() => [...base.slice(0, 2), ["mm_per_px", "-0.1"], ["images", good()]]),
        400,
        /mm_per_px must be a number > 0, got -0.1/,
      ],
      ["fit_ok: memory_fit not a bool", fitWith(() => [...base, ["memory_fit", "yes"], ["images", good()]]), 400, /memory_fit must be "true" or "false"/],
      ["fit_ok: no images", fitWith(() => base), 400, /No images/],
      ["fit_ok: images as text", fitWith(() => [...base, ["images", "not a file"]]), 400, /images must be a file part/],
      [
        "fit_ok: an undecodable image",
        fitWith(() => [...base, ["images", good()], ["images", { filename: "b.png", data: tiny }]]),
        400,
        /images\[1\] \(b\.png\): not a decodable image/,
      ],
      [
        "fit_ok: more files than allowed",
        fitWith(() => [...base, ...Array.from({ length: 9 }, (): [string, FormValue] => ["images", good()])]),
        413,
        /at most 8 per request/,
      ],
      [
        "fit_ok: a file over the per-file limit",
        fitWith(() => [...base, ["images", { filename: "big.png", data: Buffer.alloc(1_600_000, 7) }]]),
        413,
        /over the limit of 1500000 bytes per file/,
      ],
      [
        "fit_ok: a body over the request limit",
        fitWith(() => [
          ...base,
          ["images", { filename: "a.png", data: Buffer.alloc(1_400_000, 7) }],
          ["images", { filename: "b.png", data: Buffer.alloc(1_400_000, 7) }],
        ]),
        413,
        /over the limit of 2500000 bytes/,
      ],
      ["fit_ok: recipe_id last", fitWith(() => [...base, ["recipe_id", "last"], ["images", good()]]), 400, /recipe_id "last" is reserved/],
      ["fit_ok: use_dataset with an empty dataset", fitWith(() => [...base, ["use_dataset", "true"]]), 400, /^No OK dataset samples found$/],
      ["infer: no image", inferWith(() => base), 400, /Missing file image/],
      ["infer: two images", inferWith(() => [...base, ["image", good()], ["image", good()]]), 400, /one file in the image field, got 2/],
      ["infer: shape not JSON", inferWith(() => [...base, ["shape", "{kind: rect"], ["image", good()]]), 400, /shape is not valid JSON/],
      [
        "infer: unknown shape kind",
        inferWith(() => [...base, ["shape", '{"kind":"polygon"}'], ["image", good()]]),
        400,
        /shape.kind must be "rect", "circle" or "annulus"/,
      ],
      [
        "infer: annulus r_inner >= r",
        inferWith(() => [...base, ["shape", '{"kind":"annulus","r":5,"r_inner":9}'], ["image", good()]]),
        400,
        /0 <= r_inner < r/,
      ],
      [
        "infer: shape outside the ROI",
        inferWith(() => [...base, ["shape", '{"kind":"rect","x":1000,"y":0,"w":5,"h":5}'], ["image", good()]]),
        400,
        /covers no pixel/,
      ],
      [
        "infer: unknown memory",
        inferWith(() => [
          ["role_id", "Nobody"],
          ["roi_id", "Nothing"],
          ["mm_per_px", "0.1"],
          ["image", good()],
        ]),
        400,
        /^Memory not found for \(Nobody, Nothing\): run \/fit_ok first$/,
      ],
      ["infer: an undecodable image", inferWith(() => [...base, ["image", { filename: "x.png", data: tiny }]]), 400, /image: not a decodable image/],
      [
        "infer: recipe header differs from field",
        () => postForm(url("/infer"), [...base, ["recipe_id", "a"], ["image", good()]], { "X-Recipe-Id": "b" }),
        400,
        /X-Recipe-Id header/,
      ],
      ["calibrate_ng: malformed JSON", () => postRaw(url("/calibrate_ng"), "application/json", '{"role_id": "M",'), 400, /not valid JSON/],
      ["calibrate_ng: empty body", () => postRaw(url("/calibrate_ng"), "application/json", ""), 400, /body is empty/],
      ["calibrate_ng: a form instead of JSON", () => postForm(url("/calibrate_ng"), base), 415, /application\/json/],
      ["calibrate_ng: a JSON array", () => postJson(url("/calibrate_ng"), [1, 2]), 400, /must be a JSON object/],
      ["calibrate_ng: no ok_scores", () => postJson(url("/calibrate_ng"), { role_id: "Master1", roi_id: "Pattern" }), 400, /Missing field ok_scores/],
      [
        "calibrate_ng: empty ok_scores",
        () => postJson(url("/calibrate_ng"), { role_id: "Master1", roi_id: "Pattern", ok_scores: [] }),
        400,
        /at least one score/,
      ],
      [
        "calibrate_ng: a string score",
        () => postJson(url("/calibrate_ng"), { role_id: "Master1", roi_id: "Pattern", ok_scores: [1, "2"] }),
        400,
        /ok_scores\[1\] must be a finite number/,
      ],
      [
        "calibrate_ng: NaN (not JSON)",
        () => postRaw(url("/calibrate_ng"), "application/json", '{"role_id":"Master1","roi_id":"Pattern","ok_scores":[NaN]}'),
        400,
        /not valid JSON/,
      ],
      [
        "calibrate_ng: ng_scores not a list",
        () => postJson(url("/calibrate_ng"), { role_id: "Master1", roi_id: "Pattern", ok_scores: [1], ng_scores: 3 }),
        400,
        /ng_scores must be a list/,
      ],
      [
        "calibrate_ng: percentile 150",
        () => postJson(url("/calibrate_ng"), { role_id: "Master1", roi_id: "Pattern", ok_scores: [1], score_percentile: 150 }),
        400,
        /score_percentile must be a number in \[0, 100\]/,
      ],
      [
        "calibrate_ng: mm_per_px 0",
        () => postJson(url("/calibrate_ng"), { role_id: "Master1", roi_id: "Pattern", ok_scores: [1], mm_per_px: 0 }),
        400,
        /mm_per_px must be a number > 0/,
      ],
      [
        "calibrate_ng: role_id a number",
        () => postJson(url("/calibrate_ng"), { role_id: 5, roi_id: "Pattern", ok_scores: [1] }),
        400,
        /role_id must be a string/,
      ],
      [
        "calibrate_ng: no memory and no mm_per_px",
        () => postJson(url("/calibrate_ng"), { role_id: "Nobody", roi_id: "Pattern", ok_scores: [1] }),
        400,
        /^mm_per_px is required: no memory is fitted for \(Nobody, Pattern\) to take it from$/,
      ],
      [
        "recipe_settings: unknown area rule",
        () => postRaw(url("/recipe_settings"), "application/json", JSON.stringify({ area_rule: "polygon" }), {}, "PUT"),
        400,
        /area_rule must be "pixels" or "contour", got "polygon"/,
      ],
      ["recipe_settings: recipe last", () => fetchJson(url("/recipe_settings?recipe_id=last")), 400, /recipe_id "last" is reserved/],
    ];

    it.each(cases.map(([name, send, status, message]) => [name, status, message, send] as const))("%s -> %i", async (_name, status, message, send) => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(Object.keys(res.body).sort()).toEqual(["code", "error", "request_id"]);
      expect(HTTP_STATUS[res.body.code as ErrorCode]).toBe(status);
      expect(res.body.error).toMatch(message);
      expect(res.headers.get("x-request-id")).toBe(res.body.request_id);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    });
  });
});
