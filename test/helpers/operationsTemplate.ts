import { METRIC_CATALOG, METRICS_NAMESPACE } from "../../lib/observability/catalog";
import { parseQuery } from "./alarmEvaluator";

/**
 * The operations checks of a packaged CloudFormation template (tracing, alarms, their topic, the
 * dashboard), declared inside the package test's describe so that one `serverless package` serves
 * both: packaged with OPERATIONS_PACKAGE_PARAMS, which the checks expect.
 */
export const OPERATIONS_PACKAGE_PARAMS = ["--param=alarmEndpoint=line-ops@example.com", "--param=metricsPerRoi=true"];

type Resource = { Type: string; Properties: Record<string, any> };
export type Template = { Resources: Record<string, Resource>; Parameters?: Record<string, unknown>; Outputs?: Record<string, unknown> };

const PSEUDO = new Set(["AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::StackName", "AWS::StackId", "AWS::URLSuffix", "AWS::NoValue"]);

/** Every Ref, Fn::GetAtt and ${...} of Fn::Sub in `value` whose target the template does not have. */
function danglingReferences(template: Template): string[] {
  const known = (name: string) => name in template.Resources || name in (template.Parameters ?? {}) || PSEUDO.has(name);
  const out: string[] = [];
  const visit = (value: unknown, where: string) => {
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${where}[${i}]`));
    else if (value && typeof value === "object") {
      for (const [key, v] of Object.entries(value)) {
        if (key === "Ref" && typeof v === "string" && !known(v)) out.push(`${where}: Ref ${v}`);
        if (key === "Fn::GetAtt" && !known(Array.isArray(v) ? v[0] : String(v).split(".")[0]!)) out.push(`${where}: GetAtt ${JSON.stringify(v)}`);
        if (key === "Fn::Sub") {
          const text = Array.isArray(v) ? (v[0] as string) : (v as string);
          const locals = Array.isArray(v) ? Object.keys(v[1] ?? {}) : [];
          for (const m of text.matchAll(/\$\{(?!!)([^}]+)\}/g))
            if (!locals.includes(m[1]!) && !known(m[1]!.split(".")[0]!)) out.push(`${where}: Sub \${${m[1]}}`);
        }
        visit(v, `${where}.${key}`);
      }
    }
  };
  visit(template.Resources, "Resources");
  visit(template.Outputs ?? {}, "Outputs");
  return out;
}

/** A Fn::Join of the dashboard body as CloudFormation would resolve it (region and alarm ARNs made up). */
function resolveJoin(value: { "Fn::Join": [string, unknown[]] }): string {
  return value["Fn::Join"][1]
    .map((part) => {
      if (typeof part === "string") return part;
      const p = part as Record<string, any>;
      if (p.Ref === "AWS::Region") return "us-east-1";
      if (p["Fn::GetAtt"]) return `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${p["Fn::GetAtt"][0]}`;
      throw new Error(`unexpected part ${JSON.stringify(part)}`);
    })
    .join("");
}

/** Declares the checks; `packaged` reads the template once the package exists, `readme` is README.md's text. */
export function operationsTemplateChecks(packaged: () => Template, readme: string): void {
  let template: Template;
  let resources: Record<string, Resource>;
  beforeAll(() => {
    template = packaged();
    resources = template.Resources;
  });

  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const functions = () => ofType("AWS::Lambda::Function");
  const alarms = () => Object.fromEntries(ofType("AWS::CloudWatch::Alarm").map(([id, r]) => [id, r.Properties]));

  it("refers only to resources, parameters and pseudo parameters it has", () => {
    expect(danglingReferences(template)).toEqual([]);
  });

  it("traces every function (X-Ray active, the write actions in its own role) and the API stage", () => {
    expect(functions().length).toBeGreaterThan(20);
    for (const [id, fn] of functions()) {
      expect([id, fn.Properties.TracingConfig]).toEqual([id, { Mode: "Active" }]);
      const role = resources[fn.Properties.Role["Fn::GetAtt"][0]]!;
      const statements = role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
      expect([id, statements.filter((s: any) => [].concat(s.Action).some((a: string) => a.startsWith("xray:")))]).toEqual([
        id,
        [{ Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" }],
      ]);
      // the stage's settings reach the functions
      expect([
        id,
        fn.Properties.Environment.Variables.SERVICE_NAME,
        fn.Properties.Environment.Variables.METRICS_PER_ROI,
        fn.Properties.Environment.Variables.DRIFT_LEVEL,
      ]).toEqual([id, "patchcore-inspection-dev", "true", "0.8"]);
    }
    for (const [, deployment] of ofType("AWS::ApiGateway::Deployment")) expect(deployment.Properties.StageDescription).toMatchObject({ TracingEnabled: true });
  });

  it("has an SNS topic every alarm notifies, subscribed as the stage's parameters say", () => {
    expect(ofType("AWS::SNS::Topic").map(([id, r]) => [id, r.Properties.TopicName])).toEqual([["AlarmTopic", "patchcore-inspection-dev-alarms"]]);
    expect(ofType("AWS::SNS::Subscription").map(([, r]) => r.Properties)).toEqual([
      { TopicArn: { Ref: "AlarmTopic" }, Protocol: "email", Endpoint: "line-ops@example.com" },
    ]);
    for (const [id, alarm] of Object.entries(alarms())) {
      expect([id, alarm.AlarmActions, alarm.OKActions]).toEqual([id, [{ Ref: "AlarmTopic" }], [{ Ref: "AlarmTopic" }]]);
      expect(alarm.AlarmName).toMatch(/^patchcore-inspection-dev-/);
    }
    expect(template.Outputs).toHaveProperty("AlarmTopicArn");
  });

  it("alarms on the API's 5xx and 4xx shares, each function's p95 against its timeout and its throttles, workers, jobs and drift", () => {
    const all = alarms();
    const api = resources.ApiGatewayRestApi!.Properties.Name as string;
    for (const id of ["Api5xxAlarm", "Api4xxAlarm"]) {
      const stats = all[id]!.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric);
      expect(stats.map((m: any) => [m.Namespace, m.MetricName, m.Dimensions])).toEqual([
        ["AWS/ApiGateway", id === "Api5xxAlarm" ? "5XXError" : "4XXError", [{ Name: "ApiName", Value: api }]],
        ["AWS/ApiGateway", "Count", [{ Name: "ApiName", Value: api }]],
      ]);
    }
    for (const [id, fn] of functions()) {
      const logical = id.replace(/LambdaFunction$/, "");
      const latency = all[`${logical}LatencyAlarm`]!;
      expect([logical, latency.MetricName, latency.ExtendedStatistic, latency.Dimensions, latency.Threshold]).toEqual([
        logical,
        "Duration",
        "p95",
        [{ Name: "FunctionName", Value: fn.Properties.FunctionName }],
        fn.Properties.Timeout * 1000 * 0.8,
      ]);
      expect(all[`${logical}ThrottlesAlarm`]).toMatchObject({
        MetricName: "Throttles",
        Dimensions: [{ Name: "FunctionName", Value: fn.Properties.FunctionName }],
        Threshold: 0,
      });
    }
    expect(all.WorkerFailuresAlarm).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: resources.WorkerLambdaFunction!.Properties.FunctionName }],
    });
    const jobs = all.JobFailuresAlarm!.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric);
    expect(jobs).toEqual([
      { Namespace: METRICS_NAMESPACE, MetricName: "JobFailures", Dimensions: [{ Name: "service", Value: "patchcore-inspection-dev" }] },
      {
        Namespace: "AWS/Lambda",
        MetricName: "Errors",
        Dimensions: [{ Name: "FunctionName", Value: resources.JobRunnerLambdaFunction!.Properties.FunctionName }],
      },
    ]);
    // the drift alarms query the metric and dimensions the service writes
    for (const [id, groupBy] of [
      ["DriftAlarm", ["recipe"]],
      ["RoiDriftAlarm", ["recipe", "role", "roi"]],
    ] as const) {
      const query = parseQuery(all[id]!.Metrics[0].Expression);
      expect(query).toEqual({
        fn: "AVG",
        metric: "OverDriftLevel",
        namespace: METRICS_NAMESPACE,
        schema: [...groupBy, "service"],
        where: { service: "patchcore-inspection-dev" },
        groupBy,
      });
      expect([all[id]!.Metrics[0].Period, all[id]!.Threshold, all[id]!.ComparisonOperator]).toEqual([3600, 0.5, "GreaterThanThreshold"]);
    }
    expect(METRIC_CATALOG).toHaveProperty(query("DriftAlarm").metric);
    function query(id: string) {
      return parseQuery(all[id]!.Metrics[0].Expression);
    }
  });

  it("points every alarm to a runbook the README has", () => {
    const runbooks = readme.slice(readme.indexOf("### Runbooks"));
    const named = new Set(Object.values(alarms()).map((a) => /Runbook: .*"([^"]+)"\.$/.exec(a.AlarmDescription)![1]!));
    expect([...named].sort()).toEqual(["<function>-latency", "<function>-throttled", "api-4xx", "api-5xx", "drift", "job-failures", "worker-failures"]);
    for (const name of named) expect([name, runbooks.includes(`#### \`${name}\``)]).toEqual([name, true]);
  });

  it("has one dashboard whose body is JSON once resolved, showing every metric of the service, only metrics that exist", () => {
    const dashboards = ofType("AWS::CloudWatch::Dashboard");
    expect(dashboards.map(([, d]) => d.Properties.DashboardName)).toEqual(["patchcore-inspection-dev"]);
    const body = JSON.parse(resolveJoin(dashboards[0]![1].Properties.DashboardBody)) as { widgets: { type: string; properties: Record<string, any> }[] };
    const text = JSON.stringify(body);
    const custom = [...text.matchAll(/\{PatchCoreInspection,[^}]*\} MetricName=\\"(\w+)\\"/g)].map((m) => m[1]!);
    expect(new Set(custom)).toEqual(new Set(Object.keys(METRIC_CATALOG)));
    for (const widget of body.widgets.filter((w) => w.type === "metric")) expect(widget.properties.region).toBe("us-east-1");
    const alarmWidget = body.widgets.find((w) => w.type === "alarm")!;
    expect(alarmWidget.properties.alarms).toEqual([
      "arn:aws:cloudwatch:us-east-1:123456789012:alarm:DriftAlarm",
      "arn:aws:cloudwatch:us-east-1:123456789012:alarm:RoiDriftAlarm",
    ]);
    // every function's errors and throttles, by name
    for (const [, fn] of functions()) expect(text).toContain(`"FunctionName","${fn.Properties.FunctionName}"`);
  });
}
