"use strict";
/**
 * Operating the stack (README "Operating it"), as code in the stack itself: from `custom.operations`
 * and the compiled functions, at `serverless package` (so `npm run package` checks it offline):
 *
 * - an SNS topic every alarm notifies (ALARM and back to OK), subscribed to the stage's
 *   `alarmEndpoint` with `alarmProtocol` (none when the endpoint is empty);
 * - alarms: the API's 5xx and 4xx share of requests; per function, p95 duration above a share of
 *   its timeout, and any throttle; worker failures; failed jobs; drift (the share of calibrated
 *   inspections whose score / threshold is above the drift level, per recipe, and per ROI with
 *   metricsPerRoi: more than half of a window's inspections above the level is their median above it);
 * - one dashboard: is it working (API, functions), what is it finding (inspections, defects,
 *   latency, fits, jobs), is something changing (score / threshold, the drift share);
 * - X-Ray's write actions in every function's own role (serverless-iam-roles-per-function makes
 *   those roles from the functions' statements alone, without the ones tracing adds).
 *
 * A function added later gets its alarms, its dashboard lines and its X-Ray actions without
 * touching this file.
 */

const XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

function number(value, name, { min = -Infinity, max = Infinity, integer = false } = {}) {
  const n = Number(value);
  if (value === "" || value === null || value === undefined || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
    throw new Error(`operations.${name}: expected a${integer ? " whole" : ""} number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

function bool(value, name) {
  if (value === true || value === false) return value;
  const text = String(value).trim().toLowerCase();
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0" || text === "") return false;
  throw new Error(`operations.${name}: expected true or false, got ${JSON.stringify(value)}`);
}

const PROTOCOLS = new Set(["email", "email-json", "http", "https", "sms", "sqs", "lambda", "application", "firehose"]);

/** custom.operations as resolved by serverless, checked and normalised. */
function operationsSettings(raw) {
  const s = raw || {};
  const alarmProtocol = String(s.alarmProtocol || "email").trim();
  if (!PROTOCOLS.has(alarmProtocol))
    throw new Error(`operations.alarmProtocol: expected one of ${[...PROTOCOLS].join(", ")}, got ${JSON.stringify(s.alarmProtocol)}`);
  if (!s.namespace) throw new Error("operations.namespace is required (lib/observability/catalog.ts's METRICS_NAMESPACE)");
  return {
    namespace: String(s.namespace),
    alarmProtocol,
    alarmEndpoint: String(s.alarmEndpoint ?? "").trim(),
    driftLevel: number(s.driftLevel, "driftLevel", { min: Number.MIN_VALUE }),
    // a Metrics Insights alarm evaluates at most the last 3 hours
    driftWindowMinutes: number(s.driftWindowMinutes, "driftWindowMinutes", { min: 1, max: 180, integer: true }),
    metricsPerRoi: bool(s.metricsPerRoi, "metricsPerRoi"),
    latencyShareOfTimeout: number(s.latencyShareOfTimeout ?? 0.8, "latencyShareOfTimeout", { min: 0.05, max: 1 }),
    api5xxRate: number(s.api5xxRate ?? 0.05, "api5xxRate", { min: 0, max: 1 }),
    api4xxRate: number(s.api4xxRate ?? 0.25, "api4xxRate", { min: 0, max: 1 }),
    apiMinRequests: number(s.apiMinRequests ?? 10, "apiMinRequests", { min: 1, integer: true }),
    workerFailures: number(s.workerFailures ?? 3, "workerFailures", { min: 1, integer: true }),
    workerFunction: String(s.workerFunction || "worker"),
    jobRunnerFunction: String(s.jobRunnerFunction || "jobRunner"),
  };
}

/** Where each alarm's runbook is (README "Operating it", "Runbooks"). */
const RUNBOOK = "README.md, Operating it > Runbooks";

/** The Metrics Insights query of a drift alarm: the share of calibrated inspections above the drift level, per group. */
function driftQuery(namespace, service, groupBy) {
  return `SELECT AVG(OverDriftLevel) FROM SCHEMA("${namespace}", ${[...groupBy, "service"].join(", ")}) WHERE service = '${service}' GROUP BY ${groupBy.join(", ")}`;
}

/** The functions as compiled: logical id, serverless.yml key, Lambda name, timeout in seconds. */
function compiledFunctions(resources) {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === "AWS::Lambda::Function")
    .map(([id, r]) => {
      const key = id.replace(/LambdaFunction$/, "");
      return { id, logical: key, key: key.charAt(0).toLowerCase() + key.slice(1), name: r.Properties.FunctionName, timeout: Number(r.Properties.Timeout) };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * The alarms, the topic and its subscription, as CloudFormation resources (logical id -> resource).
 * `names`: { prefix (service-stage), service (the metrics' service dimension), api (the REST API's name) }.
 */
function operationsResources(settings, functions, names) {
  const out = {};
  out.AlarmTopic = { Type: "AWS::SNS::Topic", Properties: { TopicName: `${names.prefix}-alarms`, DisplayName: `${names.prefix} alarms` } };
  if (settings.alarmEndpoint !== "")
    out.AlarmSubscription = {
      Type: "AWS::SNS::Subscription",
      Properties: { TopicArn: { Ref: "AlarmTopic" }, Protocol: settings.alarmProtocol, Endpoint: settings.alarmEndpoint },
    };
  const alarm = (id, name, runbook, description, properties) => {
    out[id] = {
      Type: "AWS::CloudWatch::Alarm",
      Properties: {
        AlarmName: `${names.prefix}-${name}`,
        AlarmDescription: `${description} Runbook: ${RUNBOOK}, "${runbook}".`,
        ActionsEnabled: true,
        AlarmActions: [{ Ref: "AlarmTopic" }],
        OKActions: [{ Ref: "AlarmTopic" }],
        TreatMissingData: "notBreaching",
        ...properties,
      },
    };
  };
  const lambdaMetric = (fn, metric, stat, period) => ({
    MetricStat: { Metric: { Namespace: "AWS/Lambda", MetricName: metric, Dimensions: [{ Name: "FunctionName", Value: fn.name }] }, Period: period, Stat: stat },
  });
  const apiShare = (id, name, metric, rate, periods, what) =>
    alarm(
      id,
      name,
      name,
      `More than ${rate * 100} % of the API's requests answered ${what} (5-minute periods with at least ${settings.apiMinRequests} requests).`,
      {
        Metrics: [
          {
            Id: "answered",
            ReturnData: false,
            MetricStat: {
              Metric: { Namespace: "AWS/ApiGateway", MetricName: metric, Dimensions: [{ Name: "ApiName", Value: names.api }] },
              Period: 300,
              Stat: "Sum",
            },
          },
          {
            Id: "requests",
            ReturnData: false,
            MetricStat: {
              Metric: { Namespace: "AWS/ApiGateway", MetricName: "Count", Dimensions: [{ Name: "ApiName", Value: names.api }] },
              Period: 300,
              Stat: "Sum",
            },
          },
          {
            Id: "share",
            Label: `${what} share of requests`,
            ReturnData: true,
            Expression: `IF(requests >= ${settings.apiMinRequests}, answered / requests, 0)`,
          },
        ],
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: rate,
        EvaluationPeriods: periods,
        DatapointsToAlarm: periods,
      },
    );
  apiShare("Api5xxAlarm", "api-5xx", "5XXError", settings.api5xxRate, 2, "5xx");
  apiShare("Api4xxAlarm", "api-4xx", "4XXError", settings.api4xxRate, 3, "4xx");
  for (const fn of functions) {
    const limitMs = Math.round(fn.timeout * 1000 * settings.latencyShareOfTimeout);
    alarm(
      `${fn.logical}LatencyAlarm`,
      `${fn.key}-latency`,
      "<function>-latency",
      `${fn.name}: p95 duration above ${limitMs} ms (${settings.latencyShareOfTimeout * 100} % of its ${fn.timeout} s timeout) for 15 minutes.`,
      {
        Namespace: "AWS/Lambda",
        MetricName: "Duration",
        Dimensions: [{ Name: "FunctionName", Value: fn.name }],
        ExtendedStatistic: "p95",
        Period: 300,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        Threshold: limitMs,
        ComparisonOperator: "GreaterThanThreshold",
      },
    );
    alarm(`${fn.logical}ThrottlesAlarm`, `${fn.key}-throttled`, "<function>-throttled", `${fn.name}: invocations throttled (Lambda concurrency exhausted).`, {
      Namespace: "AWS/Lambda",
      MetricName: "Throttles",
      Dimensions: [{ Name: "FunctionName", Value: fn.name }],
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
    });
  }
  const worker = functions.find((f) => f.key === settings.workerFunction);
  const jobRunner = functions.find((f) => f.key === settings.jobRunnerFunction);
  if (worker)
    alarm(
      "WorkerFailuresAlarm",
      "worker-failures",
      "worker-failures",
      `${settings.workerFailures} or more worker invocations failed within 15 minutes (each chunk is retried once).`,
      {
        ...lambdaMetric(worker, "Errors", "Sum", 900).MetricStat.Metric,
        Statistic: "Sum",
        Period: 900,
        EvaluationPeriods: 1,
        Threshold: settings.workerFailures,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      },
    );
  alarm(
    "JobFailuresAlarm",
    "job-failures",
    "job-failures",
    "A job (dataset fit, /infer_dataset, /calibrate_dataset) failed, or its runner crashed or timed out.",
    {
      Metrics: [
        {
          Id: "failed",
          ReturnData: false,
          MetricStat: {
            Metric: { Namespace: settings.namespace, MetricName: "JobFailures", Dimensions: [{ Name: "service", Value: names.service }] },
            Period: 300,
            Stat: "Sum",
          },
        },
        ...(jobRunner ? [{ Id: "crashed", ReturnData: false, ...lambdaMetric(jobRunner, "Errors", "Sum", 300) }] : []),
        { Id: "jobs", Label: "failed jobs", ReturnData: true, Expression: jobRunner ? "FILL(failed, 0) + FILL(crashed, 0)" : "FILL(failed, 0)" },
      ],
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      Threshold: 1,
      EvaluationPeriods: 1,
    },
  );
  const drift = (id, name, groupBy, what) =>
    alarm(
      id,
      name,
      "drift",
      `Drift, ${what}: over the last ${settings.driftWindowMinutes} minutes, more than half of the calibrated inspections scored above ${settings.driftLevel} of the threshold (their median is above it).`,
      {
        Metrics: [
          {
            Id: "drift",
            Label: `share above ${settings.driftLevel} of the threshold`,
            ReturnData: true,
            Period: settings.driftWindowMinutes * 60,
            Expression: driftQuery(settings.namespace, names.service, groupBy),
          },
        ],
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0.5,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
      },
    );
  drift("DriftAlarm", "drift", ["recipe"], "per recipe");
  if (settings.metricsPerRoi) drift("RoiDriftAlarm", "roi-drift", ["recipe", "role", "roi"], "per ROI");
  return out;
}

/** A SEARCH over this service's metrics of one name, one line per value of `by`. */
function search(namespace, service, metric, by, stat, period) {
  return { expression: `SEARCH('{${namespace},${[...by, "service"].join(",")}} MetricName="${metric}" service="${service}"', '${stat}', ${period})` };
}

/**
 * The dashboard's body as CloudFormation (Fn::Join): JSON with the region and the alarms' ARNs
 * filled in by CloudFormation.
 */
function dashboardBody(settings, functions, names) {
  const ns = settings.namespace;
  const svc = names.service;
  const window = settings.driftWindowMinutes * 60;
  const region = "@@REGION@@";
  const widgets = [];
  let y = 0;
  const row = (title, items) => {
    widgets.push({ type: "text", x: 0, y, width: 24, height: 1, properties: { markdown: `## ${title}` } });
    y += 1;
    items.forEach((item, i) =>
      widgets.push({ type: "metric", x: (i % 3) * 8, y: y + Math.floor(i / 3) * 6, width: 8, height: 6, properties: { region, ...item } }),
    );
    y += Math.ceil(items.length / 3) * 6;
  };
  const lambda = (metric, stat) => functions.map((f) => ["AWS/Lambda", metric, "FunctionName", f.name, { stat, label: f.key }]);
  const key = (k) => functions.find((f) => f.key === k);
  row("Is it working: the API and the functions", [
    {
      title: "API requests and errors (sum per 5 min)",
      view: "timeSeries",
      period: 300,
      metrics: [
        ["AWS/ApiGateway", "Count", "ApiName", names.api, { stat: "Sum", label: "requests" }],
        ["AWS/ApiGateway", "4XXError", "ApiName", names.api, { stat: "Sum", label: "4xx" }],
        ["AWS/ApiGateway", "5XXError", "ApiName", names.api, { stat: "Sum", label: "5xx" }],
      ],
    },
    { title: "Errors by code (the service's, per 5 min)", view: "timeSeries", period: 300, metrics: [[search(ns, svc, "Errors", ["code"], "Sum", 300)]] },
    {
      title: "p95 duration, ms (inference, fit, fan-out)",
      view: "timeSeries",
      period: 300,
      metrics: ["infer", "fitOk", "worker", "jobRunner"]
        .map(key)
        .filter(Boolean)
        .map((f) => ["AWS/Lambda", "Duration", "FunctionName", f.name, { stat: "p95", label: f.key }]),
    },
    { title: "Function errors (per 5 min)", view: "timeSeries", stacked: true, period: 300, metrics: lambda("Errors", "Sum") },
    { title: "Throttles (per 5 min)", view: "timeSeries", stacked: true, period: 300, metrics: lambda("Throttles", "Sum") },
    {
      title: "Cold starts (per 5 min)",
      view: "timeSeries",
      stacked: true,
      period: 300,
      metrics: [[search(ns, svc, "ColdStart", ["function_name"], "Sum", 300)]],
    },
  ]);
  row("What is it finding: the line", [
    { title: "Inspections per recipe (per hour)", view: "timeSeries", period: 3600, metrics: [[search(ns, svc, "Inspections", ["recipe"], "Sum", 3600)]] },
    { title: "Defects per recipe (per hour)", view: "timeSeries", period: 3600, metrics: [[search(ns, svc, "Defects", ["recipe"], "Sum", 3600)]] },
    { title: "/infer latency per recipe, p95 ms", view: "timeSeries", period: 300, metrics: [[search(ns, svc, "InferLatency", ["recipe"], "p95", 300)]] },
    {
      title: "/infer stages, p50 ms (forward, kNN, model store)",
      view: "timeSeries",
      period: 300,
      metrics: [
        [search(ns, svc, "Forward", ["recipe"], "p50", 300)],
        [search(ns, svc, "Knn", ["recipe"], "p50", 300)],
        [search(ns, svc, "Store", ["recipe"], "p50", 300)],
      ],
    },
    {
      title: "Fits and their images per recipe (per day)",
      view: "timeSeries",
      period: 86400,
      metrics: [[search(ns, svc, "Fits", ["recipe"], "Sum", 86400)], [search(ns, svc, "FitImages", ["recipe"], "Sum", 86400)]],
    },
    {
      title: "Jobs: images, failures (per hour)",
      view: "timeSeries",
      period: 3600,
      metrics: [[search(ns, svc, "JobImages", ["kind", "recipe"], "Sum", 3600)], [search(ns, svc, "JobFailures", ["kind", "recipe"], "Sum", 3600)]],
    },
    {
      title: "Fit and job durations, p95 ms",
      view: "timeSeries",
      period: 3600,
      metrics: [[search(ns, svc, "FitDuration", ["recipe"], "p95", 3600)], [search(ns, svc, "JobDuration", ["kind", "recipe"], "p95", 3600)]],
    },
  ]);
  row(`Is something changing: good parts against the threshold (${settings.driftWindowMinutes}-minute windows)`, [
    {
      title: "Median score / threshold per recipe",
      view: "timeSeries",
      period: window,
      metrics: [[search(ns, svc, "ScoreToThreshold", ["recipe"], "p50", window)]],
      annotations: {
        horizontal: [
          { label: "drift level", value: settings.driftLevel },
          { label: "threshold", value: 1 },
        ],
      },
    },
    {
      title: "Share of inspections above the drift level per recipe",
      view: "timeSeries",
      period: window,
      metrics: [[search(ns, svc, "OverDriftLevel", ["recipe"], "Average", window)]],
      annotations: { horizontal: [{ label: "drift alarm", value: 0.5 }] },
      yAxis: { left: { min: 0, max: 1 } },
    },
  ]);
  widgets.push({
    type: "alarm",
    x: 16,
    y: y - 6,
    width: 8,
    height: 6,
    properties: { title: "Drift alarms", alarms: ["@@ARN:DriftAlarm@@", ...(settings.metricsPerRoi ? ["@@ARN:RoiDriftAlarm@@"] : [])] },
  });
  const parts = JSON.stringify({ widgets }).split(/@@(REGION|ARN:[A-Za-z0-9]+)@@/);
  return {
    "Fn::Join": [
      "",
      parts.map((part, i) => (i % 2 === 0 ? part : part === "REGION" ? { Ref: "AWS::Region" } : { "Fn::GetAtt": [part.slice("ARN:".length), "Arn"] })),
    ],
  };
}

/**
 * X-Ray on the API's stage, in the template (serverless sets it at deploy with an API call after
 * the stack; the stage's throttle is set the same way, by scripts/deploy/serverless-api-access.js).
 */
function traceApiStage(resources) {
  for (const resource of Object.values(resources)) {
    if (resource.Type !== "AWS::ApiGateway::Deployment") continue;
    resource.Properties.StageDescription = { ...(resource.Properties.StageDescription || {}), TracingEnabled: true };
  }
}

/** Adds X-Ray's write actions to each function's own role (once). */
function addTracingActions(resources) {
  const roles = new Set(
    Object.values(resources)
      .filter((r) => r.Type === "AWS::Lambda::Function" && r.Properties.Role && r.Properties.Role["Fn::GetAtt"])
      .map((r) => r.Properties.Role["Fn::GetAtt"][0]),
  );
  for (const id of roles) {
    const policy = resources[id] && resources[id].Properties.Policies && resources[id].Properties.Policies[0];
    if (!policy) continue;
    const statements = policy.PolicyDocument.Statement;
    if (statements.some((s) => [].concat(s.Action).includes(XRAY_ACTIONS[0]))) continue;
    statements.push({ Effect: "Allow", Action: [...XRAY_ACTIONS], Resource: "*" });
  }
}

class Operations {
  constructor(serverless) {
    this.serverless = serverless;
    serverless.configSchemaHandler?.defineCustomProperties?.({ type: "object", properties: { operations: { type: "object" } } });
    this.hooks = { "before:package:finalize": () => this.compile() };
  }

  compile() {
    const service = this.serverless.service;
    const settings = operationsSettings(service.custom && service.custom.operations);
    const template = service.provider.compiledCloudFormationTemplate;
    const resources = template.Resources;
    const stage = this.serverless.getProvider("aws").getStage();
    const prefix = `${service.service}-${stage}`;
    const api =
      resources.ApiGatewayRestApi && typeof resources.ApiGatewayRestApi.Properties.Name === "string"
        ? resources.ApiGatewayRestApi.Properties.Name
        : `${stage}-${service.service}`;
    const names = { prefix, service: prefix, api };
    const functions = compiledFunctions(resources);
    const tracing = service.provider.tracing || {};
    if (tracing.lambda) addTracingActions(resources);
    if (tracing.apiGateway) traceApiStage(resources);
    Object.assign(resources, operationsResources(settings, functions, names));
    resources.Dashboard = {
      Type: "AWS::CloudWatch::Dashboard",
      Properties: { DashboardName: prefix, DashboardBody: dashboardBody(settings, functions, names) },
    };
    template.Outputs = { ...(template.Outputs || {}), AlarmTopicArn: { Description: "SNS topic of the alarms", Value: { Ref: "AlarmTopic" } } };
  }
}

module.exports = Operations;
module.exports.operationsSettings = operationsSettings;
module.exports.operationsResources = operationsResources;
module.exports.dashboardBody = dashboardBody;
module.exports.driftQuery = driftQuery;
module.exports.addTracingActions = addTracingActions;
