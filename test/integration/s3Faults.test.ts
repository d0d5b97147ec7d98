import type { S3Client } from "@aws-sdk/client-s3";
import { bucketSnapshot, postForm, postJson, s3Of, type FormValue } from "../helpers/api";
import { FaultProxy, type ProxyMode } from "../helpers/faultProxy";
import { startTestStack, type TestStack } from "../helpers/testStack";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { freePort } from "../../scripts/util/ports";

/** Short S3 bounds for the test (the defaults are 5 s total, 1 s connect, 2 s inactivity). */
const S3_TIMEOUT_MS = 1500;
/**
 * A faulty S3 must be answered within this: the S3 calls made before the first that must
 * succeed (each bounded by S3_TIMEOUT_MS), plus the request's own work and slack. /fit_ok makes
 * two: the recipe's mm_per_px lock is checked (answered from the container's cache when S3 does
 * not answer), then the first write fails.
 */
const S3_CALLS_BEFORE_FAILING: Record<string, number> = { "/fit_ok": 2, "/infer": 1, "/calibrate_ng": 1 };
const answerBoundMs = (endpoint: string) => S3_CALLS_BEFORE_FAILING[endpoint]! * S3_TIMEOUT_MS + 2500;

const png = (data: Uint8Array, filename = "roi.png"): FormValue => ({ filename, data });
const ids = (role: string, roi: string): [string, FormValue][] => [
  ["role_id", role],
  ["roi_id", roi],
  ["mm_per_px", "0.1"],
];

describe("S3 behind a fault proxy: refused, reset or hung, every endpoint answers a JSON 503 in bounded time", () => {
  let proxy: FaultProxy;
  let stack: TestStack;
  let s3: S3Client;
  let url: (path: string) => string;
  const train: Buffer[] = [];
  let probe: Buffer;
  let defect: Buffer;
  let reference: { score: number; threshold: number };
  let stored: Record<string, string>;
  const timings: string[] = [];

  beforeAll(async () => {
    const s3Port = await freePort();
    proxy = await FaultProxy.start({ port: s3Port });
    stack = await startTestStack(
      {
        S3_TIMEOUT_MS: String(S3_TIMEOUT_MS),
        S3_CONNECT_TIMEOUT_MS: "500",
        S3_SOCKET_TIMEOUT_MS: "600",
        S3_MAX_ATTEMPTS: "3",
        // every /infer revalidates its cached memory: a changed stored model would be reloaded
        CACHE_TTL_MS: "0",
      },
      { s3Port, serviceS3Endpoint: proxy.url },
    );
    s3 = s3Of(stack.s3Endpoint); // the S3 server itself, not through the proxy
    url = (p) => `${stack.url}${p}`;
    train.push(...(await Promise.all([1, 2, 3].map((s) => encodePng(brushedMetal(160, 120, s))))));
    probe = await encodePng(paintSpot(brushedMetal(160, 120, 9), 80, 60, 6));
    defect = await encodePng(paintSpot(brushedMetal(160, 120, 10), 40, 40, 8));

    // Model A: fitted, calibrated and scored while S3 is healthy. Model B: the same fit, never
    // read by /infer, so no container holds it in cache and every /infer of it must reach S3.
    for (const roi of ["A", "B"]) {
      const fit = await postForm(url("/fit_ok"), [...ids("Faults", roi), ...train.map((b, i): [string, FormValue] => ["images", png(b, `ok${i}.png`)])]);
      expect(fit.status).toBe(200);
    }
    const calibration = await postJson(url("/calibrate_ng"), { role_id: "Faults", roi_id: "A", ok_scores: [0.01, 0.02], ng_scores: [0.5, 0.6] });
    expect(calibration.status).toBe(200);
    const scored = await postForm(url("/infer"), [...ids("Faults", "A"), ["image", png(probe)]]);
    expect(scored.status).toBe(200);
    reference = { score: scored.body.score, threshold: scored.body.threshold };
    stored = await bucketSnapshot(s3, stack.bucket);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
    if (timings.length) console.log(`answer times under S3 faults (S3_TIMEOUT_MS=${S3_TIMEOUT_MS}):\n${timings.join("\n")}`);
  });

  const requests: [string, () => Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>][] = [
    // a re-fit of A with other images: it must fail and leave A as it was
    ["/fit_ok", () => postForm(url("/fit_ok"), [...ids("Faults", "A"), ["images", png(defect)], ["images", png(train[0]!)]])],
    ["/infer", () => postForm(url("/infer"), [...ids("Faults", "B"), ["image", png(probe)]])],
    ["/calibrate_ng", () => postJson(url("/calibrate_ng"), { role_id: "Faults", roi_id: "A", ok_scores: [0.3], ng_scores: [0.9] })],
  ];
  const modes: ProxyMode[] = ["refuse", "reset", "hang"];

  describe.each(modes)("S3 %s", (mode) => {
    beforeAll(async () => {
      await proxy.setMode(mode);
    });
    afterAll(async () => {
      await proxy.setMode("pass");
    });

    it.each(requests)("%s -> 503 JSON within its bound (S3 calls before failing x S3_TIMEOUT_MS + 2.5 s)", async (endpoint, send) => {
      const t0 = performance.now();
      const res = await send();
      const ms = performance.now() - t0;
      timings.push(`  ${mode.padEnd(6)} ${endpoint.padEnd(13)} ${res.status} in ${ms.toFixed(0)} ms`);
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(Object.keys(res.body).sort()).toEqual(["code", "error", "request_id"]);
      expect(res.body.code).toBe("unavailable");
      expect(res.body.error).toMatch(/model store is not available.*try again/);
      expect(ms).toBeLessThan(answerBoundMs(endpoint));
      if (mode === "hang") expect(ms).toBeGreaterThan(S3_TIMEOUT_MS * 0.8); // it really waited on S3
    });
  });

  describe("an upload cut part-way (the connection reset after N bytes of the PUT)", () => {
    afterEach(() => proxy.clearCut());

    it.each([
      [
        "the memory .npz of a re-fit",
        /^PUT \S+\.npz/,
        3000,
        () => postForm(url("/fit_ok"), [...ids("Faults", "A"), ["images", png(defect)], ["images", png(train[0]!)]]),
      ],
      [
        "the calibration of a re-calibration",
        /^PUT \S+_versions\.json/,
        200,
        () => postJson(url("/calibrate_ng"), { role_id: "Faults", roi_id: "A", ok_scores: [0.3], ng_scores: [0.9] }),
      ],
    ] as const)("%s: 503, and nothing stored changed", async (_what, match, afterBytes, send) => {
      proxy.cut({ match, afterBytes, action: "reset" });
      const res = await send();
      expect(res.status).toBe(503);
      expect(res.body.code).toBe("unavailable");
      expect(proxy.stats.cuts.some((line) => match.test(line))).toBe(true);
      proxy.clearCut();
      expect(await bucketSnapshot(s3, stack.bucket)).toEqual(stored);
    });
  });

  describe("after S3 is back", () => {
    it("stored nothing during the faults: every object and ETag as before", async () => {
      expect(await bucketSnapshot(s3, stack.bucket)).toEqual(stored);
    });

    it("scores with the previous model exactly as before, to the last bit", async () => {
      const a = await postForm(url("/infer"), [...ids("Faults", "A"), ["image", png(probe)]]);
      expect(a.status).toBe(200);
      expect(a.body.score).toBe(reference.score);
      expect(a.body.threshold).toBe(reference.threshold);
      // B, the same fit as A and first read now, from S3
      const b = await postForm(url("/infer"), [...ids("Faults", "B"), ["image", png(probe)]]);
      expect(b.status).toBe(200);
      expect(b.body.score).toBe(reference.score);
    });

    it("kept one serverless-offline process serving throughout (no crash, no restart)", async () => {
      expect((await fetch(url("/health"))).status).toBe(200);
      expect(stack.output()).not.toMatch(/uncaught|unhandled|exited/i);
    });
  });
});
