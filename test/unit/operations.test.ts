/* eslint-disable @typescript-eslint/no-require-imports */
// The operations plugin's logic on made-up input (the compiled template of serverless.yml is
// checked in test/integration/package.test.ts through test/helpers/operationsTemplate.ts).
const { operationsSettings, operationsResources, addTracingActions } = require("../../scripts/deploy/serverless-operations.js");

const base = { namespace: "PatchCoreInspection", driftLevel: 0.8, driftWindowMinutes: 60, metricsPerRoi: false };
const names = { prefix: "svc-prod", service: "svc-prod", api: "prod-svc" };
const fn = (key: string, timeout: number) => ({
  id: `${key}LambdaFunction`,
  logical: key,
  key: key.toLowerCase(),
  name: `svc-prod-${key.toLowerCase()}`,
  timeout,
});

describe("the operations plugin (scripts/deploy/serverless-operations.js)", () => {
  it("refuses settings it cannot honour, naming the setting", () => {
    expect(() => operationsSettings({ ...base, alarmProtocol: "pager" })).toThrow(/operations.alarmProtocol: expected one of email/);
    expect(() => operationsSettings({ ...base, driftWindowMinutes: 240 })).toThrow(/operations.driftWindowMinutes: expected a whole number from 1 to 180/);
    expect(() => operationsSettings({ ...base, driftWindowMinutes: 1.5 })).toThrow(/driftWindowMinutes/);
    expect(() => operationsSettings({ ...base, driftLevel: "" })).toThrow(/operations.driftLevel/);
    expect(() => operationsSettings({ ...base, metricsPerRoi: "maybe" })).toThrow(/operations.metricsPerRoi: expected true or false/);
    expect(() => operationsSettings({ ...base, namespace: "" })).toThrow(/operations.namespace is required/);
  });

  it("subscribes the topic only when the stage names an endpoint; alarms each function against its own timeout", () => {
    const without = operationsResources(operationsSettings(base), [fn("Infer", 29)], names);
    expect(without.AlarmSubscription).toBeUndefined();
    const withEndpoint = operationsResources(
      operationsSettings({ ...base, alarmProtocol: "https", alarmEndpoint: "https://hooks.example.com/x" }),
      [fn("Worker", 120)],
      names,
    );
    expect(withEndpoint.AlarmSubscription.Properties).toEqual({ TopicArn: { Ref: "AlarmTopic" }, Protocol: "https", Endpoint: "https://hooks.example.com/x" });
    expect(without.InferLatencyAlarm.Properties.Threshold).toBe(23200);
    expect(withEndpoint.WorkerLatencyAlarm.Properties.Threshold).toBe(96000);
    expect(withEndpoint.WorkerFailuresAlarm.Properties.Dimensions).toEqual([{ Name: "FunctionName", Value: "svc-prod-worker" }]);
    expect(without.WorkerFailuresAlarm).toBeUndefined();
  });

  it("adds X-Ray's write actions once to each function's own role, to nothing else", () => {
    const role = () => ({
      Type: "AWS::IAM::Role",
      Properties: { Policies: [{ PolicyDocument: { Statement: [{ Effect: "Allow", Action: ["logs:PutLogEvents"], Resource: "x" }] } }] },
    });
    const resources: Record<string, any> = {
      InferRole: role(),
      OtherRole: role(),
      InferLambdaFunction: { Type: "AWS::Lambda::Function", Properties: { Role: { "Fn::GetAtt": ["InferRole", "Arn"] } } },
    };
    addTracingActions(resources);
    addTracingActions(resources);
    expect(resources.InferRole.Properties.Policies[0].PolicyDocument.Statement).toEqual([
      { Effect: "Allow", Action: ["logs:PutLogEvents"], Resource: "x" },
      { Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" },
    ]);
    expect(resources.OtherRole.Properties.Policies[0].PolicyDocument.Statement).toHaveLength(1);
  });
});
