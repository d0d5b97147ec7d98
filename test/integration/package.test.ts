import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageService, type PackageReport } from "../../scripts/deploy/package";
import { postJson } from "../helpers/api";
import { PROJECT_ROOT, startTestStack, type TestStack } from "../helpers/testStack";

function zipListing(zip: string): string[] {
  return execFileSync("unzip", ["-Z1", zip], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).trim().split("\n");
}

describe("serverless package (no AWS credentials, no network)", () => {
  let report: PackageReport;
  // a local stack serving while the package is built, as `npm start` may be
  let running: TestStack;

  beforeAll(async () => {
    running = await startTestStack();
    report = await packageService(PROJECT_ROOT, []);
  }, 300_000);

  it("produces one zip per function of serverless.yml and the runtime layer, each a real file", () => {
    const yml = readFileSync(path.join(PROJECT_ROOT, "serverless.yml"), "utf8");
    const functions = [...yml.matchAll(/^  (\w+):\n    handler: /gm)].map((m) => m[1]!);
    expect(functions).toEqual(expect.arrayContaining(["health", "fitOk", "infer", "calibrateNg", "openapi"]));
    expect(report.artefacts.map((a) => a.name).sort()).toEqual([...functions, "runtime"].sort());
    for (const name of [...functions, "runtime"]) expect(zipListing(path.join(PROJECT_ROOT, `.serverless/${name}.zip`)).length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await running?.stop();
  });

  it("bundles in its own folder and removes it, leaving a running local stack's bundle alone", async () => {
    expect(existsSync(path.join(PROJECT_ROOT, ".esbuild/package"))).toBe(false);
    expect(existsSync(path.join(running.buildDir, ".build/functions/infer.js"))).toBe(true);
    // a handler the running stack has not loaded yet is read from its bundle now
    const res = await postJson(`${running.url}/calibrate_ng`, { role_id: "nobody", roi_id: "none", ok_scores: [1] });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/mm_per_px is required: no memory is fitted/);
  });

  it("declares API Gateway's own error answers as JSON {error, request_id} (GatewayResponses)", () => {
    const template = JSON.parse(readFileSync(path.join(PROJECT_ROOT, ".serverless/cloudformation-template-update-stack.json"), "utf8"));
    const responses = Object.values(template.Resources as Record<string, { Type: string; Properties: Record<string, any> }>)
      .filter((r) => r.Type === "AWS::ApiGateway::GatewayResponse")
      .map((r) => r.Properties);
    const byType = Object.fromEntries(responses.map((p) => [p.ResponseType, p]));
    expect(Object.keys(byType).sort()).toEqual(
      ["DEFAULT_4XX", "DEFAULT_5XX", "INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "QUOTA_EXCEEDED", "REQUEST_TOO_LARGE", "THROTTLED"].sort(),
    );
    expect([byType.REQUEST_TOO_LARGE.StatusCode, byType.THROTTLED.StatusCode, byType.INTEGRATION_TIMEOUT.StatusCode]).toEqual(["413", "429", "504"]);
    for (const p of responses) {
      expect(p.RestApiId).toEqual({ Ref: "ApiGatewayRestApi" });
      expect(p.ResponseParameters["gatewayresponse.header.Content-Type"]).toBe("'application/json'");
      // as API Gateway renders it: messageString is already a quoted JSON string
      const rendered = String(p.ResponseTemplates["application/json"])
        .replaceAll("$context.error.messageString", JSON.stringify('a "quoted" message'))
        .replaceAll("$context.requestId", "0f7e2b1c-1111-2222-3333-444455556666");
      expect(Object.keys(JSON.parse(rendered)).sort()).toEqual(["code", "error", "request_id"]);
    }
  });

  it("produces one zip per function and the runtime layer", () => {
    expect(report.artefacts.map((a) => a.name).sort()).toEqual(expect.arrayContaining(["health", "runtime"]));
  });

  it("puts the model and the linux-x64 native addons in the layer, and nothing else of ORT's platforms", () => {
    const files = zipListing(path.join(PROJECT_ROOT, ".serverless/runtime.zip"));
    expect(files).toEqual(expect.arrayContaining(["models/texture-s14.onnx", "models/texture-s14.card.json"]));
    expect(files.some((f) => f.startsWith("models/vit-s14-shape"))).toBe(false);
    expect(files).toContain("nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node");
    expect(files.some((f) => /onnxruntime-node\/bin\/napi-v6\/(darwin|win32|linux\/arm64)/.test(f))).toBe(false);
    expect(files.some((f) => f.startsWith("nodejs/node_modules/@img/sharp-linux-x64/"))).toBe(true);
    expect(files.some((f) => f.startsWith("nodejs/node_modules/hnswlib-node/build/Release/addon.node"))).toBe(true);
  });

  it("leaves the native addons out of the function bundles", () => {
    for (const artefact of report.artefacts.filter((a) => a.name !== "runtime")) {
      const files = zipListing(path.join(PROJECT_ROOT, `.serverless/${artefact.name}.zip`));
      expect(files.filter((f) => /node_modules|\.node$/.test(f))).toEqual([]);
      expect(files).toContain(`functions/${artefact.name}.js`);
    }
  });

  it("stays under Lambda's 250 MB unzipped limit, function + layer", () => {
    expect(report.largestFunctionWithLayerBytes).toBeLessThan(report.limitBytes);
  });

  it("stages a layer whose addons load from outside the project, as /opt/nodejs/node_modules does in Lambda", () => {
    const out = execFileSync(
      process.execPath,
      ["-e", "const o=require('onnxruntime-node');require('sharp');require('hnswlib-node');console.log(o.env.versions.node)"],
      { cwd: os.tmpdir(), env: { ...process.env, NODE_PATH: path.join(PROJECT_ROOT, "layers/runtime/nodejs/node_modules") }, encoding: "utf8" },
    );
    expect(out.trim()).toMatch(/^1\.\d+\.\d+$/);
  });
});
