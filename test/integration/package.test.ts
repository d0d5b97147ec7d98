import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageService, type PackageReport } from "../../scripts/deploy/package";
import { PROJECT_ROOT } from "../helpers/testStack";

function zipListing(zip: string): string[] {
  return execFileSync("unzip", ["-Z1", zip], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).trim().split("\n");
}

describe("serverless package (no AWS credentials, no network)", () => {
  let report: PackageReport;

  beforeAll(async () => {
    report = await packageService(PROJECT_ROOT, []);
  }, 300_000);

  it("produces one zip per function of serverless.yml and the runtime layer, each a real file", () => {
    const yml = readFileSync(path.join(PROJECT_ROOT, "serverless.yml"), "utf8");
    const functions = [...yml.matchAll(/^  (\w+):\n    handler: /gm)].map((m) => m[1]!);
    expect(functions).toEqual(expect.arrayContaining(["health", "fitOk", "infer", "calibrateNg", "openapi"]));
    expect(report.artefacts.map((a) => a.name).sort()).toEqual([...functions, "runtime"].sort());
    for (const name of [...functions, "runtime"]) expect(zipListing(path.join(PROJECT_ROOT, `.serverless/${name}.zip`)).length).toBeGreaterThan(0);
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
