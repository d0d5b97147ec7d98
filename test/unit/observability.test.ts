import { readFileSync } from "node:fs";
import path from "node:path";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { recordFit, recordInspection } from "../../lib/app/lineMetrics";
import type { Services } from "../../lib/app/services";
import { loadConfig } from "../../lib/config";
import type { UseCaseContext } from "../../lib/context";
import { routes } from "../../lib/contract/routes";
import { httpRoute } from "../../lib/http/route";
import { createObservability } from "../../lib/observability/create";
import { METRIC_CATALOG } from "../../lib/observability/catalog";
import { dimensionValue } from "../../lib/observability/dimensionValue";
import { EmfMetrics } from "../../lib/observability/emf";
import type { Dimensions, MetricsRecorder, MetricValues } from "../../lib/observability/recorder";
import { modelIdentity } from "../../lib/store/keys";
import { Timings } from "../../lib/util/timings";
import { emfLines, type EmfLine } from "../helpers/emf";
import { PROJECT_ROOT } from "../helpers/testStack";

/** What `run` writes to stdout (Powertools writes EMF lines there). */
function stdoutOf(run: () => void): string {
  let written = "";
  const write = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((written += String(chunk)), true));
  try {
    run();
  } finally {
    write.mockRestore();
  }
  return written;
}

const directive = (line: EmfLine) => line._aws.CloudWatchMetrics[0]!;

describe("dimension values (CloudWatch takes printable ASCII only)", () => {
  it("keeps printable ASCII ids as they are and escapes the rest, keeping distinct ids distinct", () => {
    expect(dimensionValue("line-7 Master1/Pattern")).toBe("line-7 Master1/Pattern");
    expect(dimensionValue("Prüfstand")).toBe("Pr\\xfcfstand");
    expect(dimensionValue("検査")).toBe("\\u{691c}\\u{67fb}");
    expect(dimensionValue("tab\there")).toBe("tab\\x09here");
    expect(dimensionValue("a\\xfc")).not.toBe(dimensionValue("aü"));
    expect(dimensionValue("   ")).toBe("\\x20\\x20\\x20");
  });

  it("stays within CloudWatch's 1024 characters for the longest id (256 bytes) of any kind", () => {
    for (const id of ["\u0001".repeat(256), "ü".repeat(128), "😀".repeat(64), "検".repeat(85), "\\".repeat(256)]) {
      expect(Buffer.byteLength(id)).toBeLessThanOrEqual(256);
      const value = dimensionValue(id);
      expect(value.length).toBeLessThanOrEqual(1024);
      expect(value).toMatch(/^[\x20-\x7e]+$/);
      expect(value.trim()).not.toBe("");
    }
  });
});

describe("EMF lines (lib/observability/emf.ts on Powertools' Metrics)", () => {
  it("writes one line per dimension set: names, units, the service dimension, values (repeated ones as a list)", () => {
    const emf = new EmfMetrics(true, "svc-test");
    const metrics = emf.open();
    metrics.add({ recipe: "r1" }, { Inspections: 1, Defects: 0, ScoreToThreshold: undefined, InferLatency: 12.3456 });
    metrics.add({ recipe: "r1" }, { Inspections: 1, Defects: 1 });
    metrics.add({ code: "unavailable" }, { Errors: 1 });
    metrics.add({ recipe: "r1", kind: "fit" }, { JobFailures: 0 }, [{}]);
    const lines = emfLines(stdoutOf(() => metrics.publish()));
    expect(lines).toHaveLength(3);
    const [line, errors, job] = lines as [EmfLine, EmfLine, EmfLine];
    expect(directive(line)).toEqual({
      Namespace: "PatchCoreInspection",
      Dimensions: [["service", "recipe"]],
      Metrics: [
        { Name: "Inspections", Unit: "Count" },
        { Name: "Defects", Unit: "Count" },
        { Name: "InferLatency", Unit: "Milliseconds" },
      ],
    });
    expect(line).toMatchObject({ service: "svc-test", recipe: "r1", Inspections: [1, 1], Defects: [0, 1], InferLatency: 12.35 });
    expect(line).not.toHaveProperty("ScoreToThreshold");
    expect([directive(errors).Dimensions, errors.code, errors.Errors]).toEqual([[["service", "code"]], "unavailable", 1]);
    expect(directive(job).Dimensions).toEqual([["service", "recipe", "kind"], ["service"]]);
    expect(Math.abs(line._aws.Timestamp - Date.now())).toBeLessThan(5000);
    // published once: a second publish writes nothing
    expect(stdoutOf(() => metrics.publish())).toBe("");
  });

  it("gives a set that repeats the line's dimensions (the ROI's) a line of its own, with no Powertools warning", () => {
    const warn = jest.spyOn(console, "warn");
    const metrics = new EmfMetrics(true, "svc").open();
    metrics.add({ recipe: "r" }, { Inspections: 1 }, [{ recipe: "r", role: "Master1", roi: "Prüf" }]);
    const lines = emfLines(stdoutOf(() => metrics.publish()));
    expect(lines.map((l) => directive(l).Dimensions)).toEqual([[["service", "recipe"]], [["service", "recipe", "role", "roi"]]]);
    expect(lines[1]).toMatchObject({ recipe: "r", role: "Master1", roi: "Pr\\xfcf", Inspections: 1 });
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it("writes nothing when metrics are off, not even a cold start", () => {
    const emf = new EmfMetrics(false, "svc");
    const metrics = emf.open();
    metrics.add({ recipe: "r" }, { Inspections: 1 });
    expect(stdoutOf(() => (emf.coldStart("fn"), metrics.publish()))).toBe("");
  });
});

describe("METRICS: when EMF lines are written", () => {
  const resolved = (env: Record<string, string>) => loadConfig({ MODEL_DIR: "/tmp", ...env }).observability.metrics;
  it("auto: in a Lambda runtime always; elsewhere (npm start, tests, bench) only at LOG_LEVEL=debug; on and off as said", () => {
    expect(resolved({})).toBe(false);
    expect(resolved({ LOG_LEVEL: "info" })).toBe(false);
    expect(resolved({ LOG_LEVEL: "debug" })).toBe(true);
    expect(resolved({ AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x", LOG_LEVEL: "error" })).toBe(true);
    expect(resolved({ METRICS: "off", AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x" })).toBe(false);
    expect(resolved({ METRICS: "on" })).toBe(true);
    expect(() => resolved({ METRICS: "sometimes" })).toThrow(/METRICS="sometimes": expected auto\|on\|off/);
  });
});

describe("the line's metrics (lib/app/lineMetrics.ts)", () => {
  const recorded: { dimensions: Dimensions; values: MetricValues; alsoBy?: readonly Dimensions[] }[] = [];
  const recorder: MetricsRecorder = { add: (dimensions, values, alsoBy) => recorded.push({ dimensions, values, alsoBy }) };
  const ctx = (timings: Record<string, number> = {}) => {
    const t = new Timings();
    for (const [stage, ms] of Object.entries(timings)) t.add(stage, ms);
    return { metrics: recorder, timings: t, elapsedMs: () => 250 } as unknown as UseCaseContext;
  };
  const services = (metricsPerRoi: boolean) => ({ config: { observability: { metricsPerRoi, driftLevel: 0.8 } } }) as unknown as Services;
  const identity = modelIdentity("Master1", "Pattern", undefined, "line-7");
  beforeEach(() => (recorded.length = 0));

  it("an inspection: a defect when score >= threshold, score / threshold and its drift vote only when calibrated, latency and stages", () => {
    recordInspection(services(false), identity, { score: 0.9, threshold: 1 }, ctx({ forward: 100, knn: 20, s3_head: 5, s3_get: 7, decode: 3 }));
    recordInspection(services(false), identity, { score: 1, threshold: 1 }, ctx());
    recordInspection(services(false), identity, { score: 0.5, threshold: null }, ctx());
    const lines = recorded.filter((r) => "Inspections" in r.values);
    expect(lines.map((r) => r.values)).toEqual([
      { Inspections: 1, Defects: 0, ScoreToThreshold: 0.9, OverDriftLevel: 1 },
      { Inspections: 1, Defects: 1, ScoreToThreshold: 1, OverDriftLevel: 1 },
      { Inspections: 1, Defects: 0, ScoreToThreshold: undefined, OverDriftLevel: undefined },
    ]);
    expect(lines[0]!.dimensions).toEqual({ recipe: "line-7" });
    expect(lines[0]!.alsoBy).toEqual([]);
    expect(recorded[1]).toEqual({ dimensions: { recipe: "line-7" }, values: { InferLatency: 250, Forward: 100, Knn: 20, Store: 12 }, alsoBy: undefined });
  });

  it("per role and ROI as well only with METRICS_PER_ROI; a fit's images and duration", () => {
    recordInspection(services(true), identity, { score: 0.1, threshold: 1 }, ctx());
    expect(recorded[0]!.alsoBy).toEqual([{ recipe: "line-7", role: "Master1", roi: "Pattern" }]);
    expect(recorded[0]!.values.OverDriftLevel).toBe(0);
    recordFit(identity, 12, ctx());
    expect(recorded.at(-1)).toEqual({ dimensions: { recipe: "line-7" }, values: { Fits: 1, FitImages: 12, FitDuration: 250 }, alsoBy: undefined });
  });
});

describe("logs through Powertools' Logger", () => {
  const event = {
    resource: "/health",
    path: "/health",
    httpMethod: "GET",
    headers: {},
    requestContext: { requestId: "apigw-1" },
  } as unknown as APIGatewayProxyEvent;
  const context = { awsRequestId: "lambda-1", functionName: "fn", getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

  it("samples debug logs per invocation: LOG_DEBUG_SAMPLE_RATE=1 logs a use case's debug lines at LOG_LEVEL=info, 0 does not", async () => {
    for (const [rate, expected] of [
      [1, true],
      [0, false],
    ] as const) {
      const lines: Record<string, unknown>[] = [];
      const observability = createObservability({ service: "svc", logLevel: "info", debugSampleRate: rate, metrics: false }, (line) =>
        lines.push(JSON.parse(line) as Record<string, unknown>),
      );
      const handler = httpRoute(routes.health, { observability, limits: { maxFiles: 1, maxFileBytes: 10, maxRequestBytes: 10 } }, async (_input, ctx) => {
        ctx.log.debug("a detail");
        return { status: "ok" } as never;
      });
      await handler(event, context);
      expect([rate, lines.some((l) => l.message === "a detail")]).toEqual([rate, expected]);
      // every line carries the Lambda context and the request's ids
      expect(lines.find((l) => l.message === "request done")).toMatchObject({
        level: "INFO",
        service: "svc",
        function_request_id: "lambda-1",
        lambda_request_id: "lambda-1",
        apigw_request_id: "apigw-1",
        endpoint: "health",
        status: 200,
        sampling_rate: rate,
      });
    }
  });
});

describe("the README's metrics table", () => {
  it("lists every metric of lib/observability/catalog.ts with its unit, and no other", () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Metrics"), readme.indexOf("### Traces"));
    const listed: Record<string, string> = {};
    for (const row of section.split("\n").filter((l) => l.startsWith("| `"))) {
      const [names, units] = row.split(" | ") as [string, string];
      const metricNames = [...names.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
      const metricUnits = units.split(", ");
      metricNames.forEach((name, i) => (listed[name] = metricUnits[metricUnits.length === 1 ? 0 : i]!));
    }
    expect(listed).toEqual(Object.fromEntries(Object.entries(METRIC_CATALOG).map(([name, m]) => [name, m.unit])));
  });
});
