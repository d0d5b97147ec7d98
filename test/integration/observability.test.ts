import { InspectionClient, type ImageFile } from "../../lib/contract/client";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { freePort } from "../../scripts/util/ports";
import { emfLines, type EmfLine } from "../helpers/emf";
import { FaultProxy } from "../helpers/faultProxy";
import { startTestStack, type TestStack } from "../helpers/testStack";

const W = 160;
const H = 120;
const SERVICE = "patchcore-inspection-dev";
const RECIPE = "line-7";

const directive = (line: EmfLine) => line._aws.CloudWatchMetrics[0]!;
const dimensionsOf = (line: EmfLine) => directive(line).Dimensions.map((set) => [...set]);
const unitsOf = (line: EmfLine) => Object.fromEntries(directive(line).Metrics.map((m) => [m.Name, m.Unit]));
const has = (metric: string) => (line: EmfLine) => directive(line).Metrics.some((m) => m.Name === metric);

/** The service's JSON log lines in some output. */
function logLines(output: string): Record<string, any>[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith('{"level"'))
    .map((line) => JSON.parse(line) as Record<string, any>);
}

/** Output written from `offset` on, once `until` holds of it (the functions' stdout reaches the test a little after their answers). */
async function outputFrom(stack: TestStack, offset: number, until: (text: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = stack.output().slice(offset);
    if (until(text)) return text;
    if (Date.now() > deadline) throw new Error(`not seen in the stack's output within ${timeoutMs} ms:\n${text.slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The EMF lines written from `offset` on with `metric`, once there are `count` of them. */
async function metricLines(stack: TestStack, offset: number, metric: string, count = 1): Promise<EmfLine[]> {
  const text = await outputFrom(stack, offset, (t) => emfLines(t).filter(has(metric)).length >= count);
  return emfLines(text).filter(has(metric));
}

describe("metrics (EMF lines), logs and errors of the local stack, at LOG_LEVEL=debug, per ROI", () => {
  let proxy: FaultProxy;
  let stack: TestStack;
  let api: InspectionClient;
  const good: ImageFile[] = [];
  let probe: ImageFile;
  let defect: ImageFile;

  beforeAll(async () => {
    const s3Port = await freePort();
    proxy = await FaultProxy.start({ port: s3Port });
    stack = await startTestStack(
      {
        LOG_LEVEL: "debug",
        CACHE_TTL_MS: "0",
        // dataset fits become jobs
        SYNC_BUDGET_MS: "0",
        // what Lambda sets in a function started on demand (Powertools' cold start reads it)
        AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
        S3_TIMEOUT_MS: "1500",
        S3_CONNECT_TIMEOUT_MS: "500",
        S3_SOCKET_TIMEOUT_MS: "600",
      },
      { s3Port, serviceS3Endpoint: proxy.url, params: { metricsPerRoi: "true" } },
    );
    api = new InspectionClient(stack.url, { validate: true });
    for (const seed of [1, 2, 3]) good.push({ filename: `ok_${seed}.png`, data: await encodePng(brushedMetal(W, H, seed)) });
    probe = { filename: "probe.png", data: await encodePng(brushedMetal(W, H, 9)) };
    defect = { filename: "defect.png", data: await encodePng(paintSpot(brushedMetal(W, H, 10), 80, 60, 9)) };
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
  });

  const ids = (roi: string) => ({ role_id: "Master1", roi_id: roi, recipe_id: RECIPE, mm_per_px: 0.1 });

  it("a fit: Fits, FitImages, FitDuration under service and recipe, and the function's cold start", async () => {
    const offset = stack.output().length;
    const started = Date.now();
    const fit = (await api.fitOk(ids("Pattern"), good)).ok();
    const wallMs = Date.now() - started;
    const [line] = await metricLines(stack, offset, "Fits");
    expect(dimensionsOf(line!)).toEqual([["service", "recipe"]]);
    expect(unitsOf(line!)).toEqual({ Fits: "Count", FitImages: "Count", FitDuration: "Milliseconds" });
    expect(line).toMatchObject({ service: SERVICE, recipe: RECIPE, Fits: 1, FitImages: fit.n_images });
    expect(line!.FitDuration as number).toBeGreaterThan(0);
    expect(line!.FitDuration as number).toBeLessThan(wallMs);
    const [cold] = await metricLines(stack, offset, "ColdStart");
    expect(dimensionsOf(cold!)).toEqual([["service", "function_name"]]);
    expect(cold).toMatchObject({ service: SERVICE, function_name: `${SERVICE}-fitOk`, ColdStart: 1 });
  });

  it("an inference: Inspections, Defects, ScoreToThreshold and its drift vote per recipe and per ROI, latency and its stages; the request's log line", async () => {
    // uncalibrated: counted, never a defect, no score / threshold
    let offset = stack.output().length;
    const before = [(await api.infer(ids("Pattern"), probe)).ok().score, (await api.infer(ids("Pattern"), defect)).ok().score];
    const uncalibrated = (await metricLines(stack, offset, "Inspections", 4)).filter((l) => l.roi === undefined);
    expect(uncalibrated.map((l) => [l.Inspections, l.Defects, "ScoreToThreshold" in l, "OverDriftLevel" in l])).toEqual([
      [1, 0, false, false],
      [1, 0, false, false],
    ]);
    // a threshold between the two: the probe is a good part, the defect a defect
    (await api.calibrateNg({ role_id: "Master1", roi_id: "Pattern", recipe_id: RECIPE, ok_scores: [before[0]!], ng_scores: [before[1]!] })).ok();
    const defects: number[] = [];
    for (const image of [probe, defect]) {
      offset = stack.output().length;
      const requestId = `obs-${image.filename}`;
      const body = (await api.infer(ids("Pattern"), image, { "X-Request-Id": requestId })).ok();
      expect(body.threshold).not.toBeNull();
      const ratio = body.score / body.threshold!;
      const lines = await metricLines(stack, offset, "Inspections", 2);
      const [byRecipe, byRoi] = lines as [EmfLine, EmfLine];
      expect(dimensionsOf(byRecipe)).toEqual([["service", "recipe"]]);
      expect(dimensionsOf(byRoi)).toEqual([["service", "recipe", "role", "roi"]]);
      const expected = { Inspections: 1, Defects: body.score >= body.threshold! ? 1 : 0, ScoreToThreshold: ratio, OverDriftLevel: ratio > 0.8 ? 1 : 0 };
      expect(byRecipe).toMatchObject({ service: SERVICE, recipe: RECIPE, ...expected });
      expect(byRoi).toMatchObject({ service: SERVICE, recipe: RECIPE, role: "Master1", roi: "Pattern", ...expected });
      expect(unitsOf(byRoi)).toEqual({ Inspections: "Count", Defects: "Count", ScoreToThreshold: "None", OverDriftLevel: "Count" });
      defects.push(byRecipe.Defects as number);
      // latency and stages: the answer's own timings
      const [latency] = (await metricLines(stack, offset, "InferLatency")) as [EmfLine];
      expect(dimensionsOf(latency)).toEqual([["service", "recipe"]]);
      expect(unitsOf(latency)).toEqual({ InferLatency: "Milliseconds", Forward: "Milliseconds", Knn: "Milliseconds", Store: "Milliseconds" });
      const timings = body.timings_ms as Record<string, number>;
      const store = Object.entries(timings)
        .filter(([stage]) => stage.startsWith("s3_"))
        .reduce((sum, [, ms]) => sum + ms, 0);
      expect(latency).toMatchObject({ Forward: timings.forward, Knn: timings.knn });
      expect(latency.Store as number).toBeCloseTo(store, 1);
      expect(latency.InferLatency as number).toBeGreaterThanOrEqual(timings.forward!);
      // the request's log line: its ids, Powertools' Lambda context, the answer's timings
      const text = await outputFrom(stack, offset, (t) => t.includes(`"request_id":"${requestId}"`) && t.includes('"message":"request done"'));
      const done = logLines(text).find((l) => l.message === "request done" && l.request_id === requestId)!;
      expect(done).toMatchObject({
        level: "INFO",
        service: SERVICE,
        endpoint: "infer",
        status: 200,
        timings_ms: timings,
        function_name: `${SERVICE}-infer`,
        function_request_id: done.lambda_request_id,
        cold_start: expect.any(Boolean),
      });
      expect(done.apigw_request_id).toEqual(expect.any(String));
    }
    expect(defects).toEqual([0, 1]);
    expect(logLines(stack.output()).filter((l) => l.function_name === `${SERVICE}-infer` && l.cold_start === true).length).toBeGreaterThan(0);
  });

  it("an error: a failing S3 is an Errors metric with its code (unavailable), a client's mistake one with its own (not_fitted)", async () => {
    // a model no /infer has read yet: the request must reach S3
    (await api.fitOk(ids("Cold"), good)).ok();
    let offset = stack.output().length;
    await proxy.setMode("refuse");
    try {
      const failed = await api.infer(ids("Cold"), probe, { "X-Request-Id": "obs-s3-down" });
      expect([failed.status, failed.error().code]).toEqual([503, "unavailable"]);
    } finally {
      await proxy.setMode("pass");
    }
    const [error] = (await metricLines(stack, offset, "Errors")) as [EmfLine];
    expect(dimensionsOf(error)).toEqual([["service", "code"]]);
    expect(unitsOf(error)).toEqual({ Errors: "Count" });
    expect(error).toMatchObject({ service: SERVICE, code: "unavailable", Errors: 1 });
    const failedLine = logLines(await outputFrom(stack, offset, (t) => t.includes('"request_id":"obs-s3-down"'))).find((l) => l.request_id === "obs-s3-down")!;
    expect(failedLine).toMatchObject({ level: "ERROR", message: "request failed", status: 503, code: "unavailable" });
    expect(emfLines(stack.output().slice(offset)).filter(has("Inspections"))).toEqual([]);

    offset = stack.output().length;
    expect((await api.infer(ids("Nowhere"), probe)).error().code).toBe("not_fitted");
    const [rejected] = (await metricLines(stack, offset, "Errors")) as [EmfLine];
    expect(rejected).toMatchObject({ code: "not_fitted", Errors: 1 });
  });

  it("a job: JobImages, JobDuration, JobFailures under recipe and kind and under the service alone; the fit it commits; workers' logs", async () => {
    (await api.uploadDataset("ok", { role_id: "Master1", roi_id: "Dataset", recipe_id: RECIPE }, good)).ok();
    const offset = stack.output().length;
    const accepted = (await api.fitOk({ ...ids("Dataset"), use_dataset: true }, [])).accepted();
    const job = await api.waitForJob(accepted.job_id, { timeoutMs: 120_000 });
    expect(job.state).toBe("done");
    const [line] = (await metricLines(stack, offset, "JobImages")) as [EmfLine];
    expect(dimensionsOf(line)).toEqual([["service", "recipe", "kind"], ["service"]]);
    expect(unitsOf(line)).toEqual({ JobImages: "Count", JobDuration: "Milliseconds", JobFailures: "Count" });
    expect(line).toMatchObject({ service: SERVICE, recipe: RECIPE, kind: "fit", JobImages: good.length, JobFailures: 0 });
    expect(line.JobDuration as number).toBeGreaterThan(0);
    const [fit] = (await metricLines(stack, offset, "Fits")) as [EmfLine];
    expect(fit).toMatchObject({ recipe: RECIPE, Fits: 1, FitImages: good.length });
    const logs = logLines(stack.output().slice(offset));
    expect(logs.filter((l) => l.message === "worker done" && l.job_id === accepted.job_id).length).toBeGreaterThan(0);
    expect(logs.find((l) => l.message === "job done")).toMatchObject({ job_id: accepted.job_id, function_name: `${SERVICE}-jobRunner` });
  });
});

describe("npm start's level (LOG_LEVEL=info): nothing new is printed", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ LOG_LEVEL: "info", CACHE_TTL_MS: "0" });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("writes no metric line and no X-Ray or Powertools notice; its log lines are the service's JSON lines", async () => {
    const api = new InspectionClient(stack.url);
    const images: ImageFile[] = [];
    for (const seed of [1, 2]) images.push({ filename: `ok_${seed}.png`, data: await encodePng(brushedMetal(W, H, seed)) });
    (await api.health()).ok();
    (await api.fitOk({ role_id: "R", roi_id: "P", mm_per_px: 0.1 }, images)).ok();
    (await api.infer({ role_id: "R", roi_id: "P", mm_per_px: 0.1 }, images[0]!)).ok();
    expect((await api.infer({ role_id: "R", roi_id: "none", mm_per_px: 0.1 }, images[0]!)).status).toBe(400);
    const output = await outputFrom(stack, 0, (t) => (t.match(/"message":"request (done|rejected)"/g) ?? []).length >= 4);
    expect(emfLines(output)).toEqual([]);
    expect(output).not.toMatch(/_aws|x-?ray|segment|trace data|powertools|No application metrics|Namespace should be defined/i);
    const logs = logLines(output);
    expect(logs.length).toBeGreaterThanOrEqual(4);
    for (const line of logs) expect(Object.keys(line)).toEqual(expect.arrayContaining(["level", "message", "timestamp", "service"]));
    expect(logs.filter((l) => l.level === "DEBUG")).toEqual([]);
  });
});
