import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from "../../scripts/local/s3Server";
import { PROJECT_ROOT } from "../helpers/testStack";

/** A segment document as the X-Ray SDK sends it to the daemon (one per UDP datagram, after a JSON header line). */
interface Segment {
  name: string;
  id: string;
  trace_id: string;
  parent_id?: string;
  namespace?: string;
  annotations?: Record<string, unknown>;
  aws?: { operation?: string; function_name?: string; [key: string]: unknown };
  error?: boolean;
  fault?: boolean;
}

interface Answer {
  module: string;
  trace: string;
  status: number;
  body: Record<string, unknown>;
}

/**
 * The real handlers in a process that is a Lambda runtime as far as X-Ray can tell, talking to a
 * local S3 server and to a Lambda endpoint that accepts invocations; a UDP socket plays the X-Ray
 * daemon and receives what the SDK sends.
 */
describe("X-Ray tracing in a Lambda runtime (Powertools' tracer, the AWS clients captured)", () => {
  let s3: LocalS3;
  let s3Dir: string;
  let daemon: dgram.Socket;
  let lambda: http.Server;
  const invocations: string[] = [];
  const segments: Segment[] = [];
  let answers: Answer[];
  let stderr = "";

  beforeAll(async () => {
    s3Dir = await mkdtemp(path.join(os.tmpdir(), "trace-s3-"));
    s3 = await startLocalS3({ directory: s3Dir, bucket: "trace-test", port: 0 });
    daemon = dgram.createSocket("udp4");
    daemon.on("message", (message) => {
      const [header, body] = message.toString().split("\n");
      if (JSON.parse(header!).format === "json") segments.push(JSON.parse(body!) as Segment);
    });
    await new Promise<void>((resolve) => daemon.bind(0, "127.0.0.1", resolve));
    // Lambda's Invoke API: an asynchronous invocation is accepted with 202
    lambda = http.createServer((req, res) => {
      invocations.push(`${req.method} ${req.url}`);
      req.resume().on("end", () => res.writeHead(202, { "Content-Type": "application/json" }).end("{}"));
    });
    await new Promise<void>((resolve) => lambda.listen(0, "127.0.0.1", resolve));
    const env: Record<string, string> = {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? os.tmpdir(),
      // what the Lambda runtime sets
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
      LAMBDA_TASK_ROOT: PROJECT_ROOT,
      AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(daemon.address() as AddressInfo).port}`,
      AWS_XRAY_CONTEXT_MISSING: "LOG_ERROR",
      AWS_REGION: "us-east-1",
      // the service's
      MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"),
      S3_ENDPOINT: s3.endpoint,
      MODELS_BUCKET: "trace-test",
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      LAMBDA_ENDPOINT: `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`,
      SYNC_BUDGET_MS: "0",
      LOG_LEVEL: "warn",
      METRICS: "off",
    };
    const child = spawn(path.join(PROJECT_ROOT, "node_modules/.bin/tsx"), [path.join(PROJECT_ROOT, "test/helpers/tracingDriver.ts")], {
      cwd: PROJECT_ROOT,
      env,
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`tracing driver exited ${code}:\n${stdout}\n${stderr}`);
    answers = stdout
      .split("\n")
      .filter((l) => l.startsWith('{"module"'))
      .map((l) => JSON.parse(l) as Answer);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }, 180_000);

  afterAll(async () => {
    daemon?.close();
    await new Promise((resolve) => lambda?.close(resolve));
    await s3?.close();
    if (s3Dir) await rm(s3Dir, { recursive: true, force: true });
  });

  const traceOf = (answer: Answer) => /Root=([^;]+)/.exec(answer.trace)![1]!;
  const inTrace = (answer: Answer) => segments.filter((s) => s.trace_id === traceOf(answer));

  it("answers as usual", () => {
    expect(answers.map((a) => [a.module, a.status])).toEqual([
      ["fitOk", 200],
      ["infer", 200],
      ["datasetsUploadOk", 200],
      ["fitOk", 202],
    ]);
  });

  it("gives each invocation a handler subsegment annotated with the request, the recipe, role, ROI and model version, and the cold start", () => {
    const [fit, infer] = answers as [Answer, Answer];
    const handler = (answer: Answer) => inTrace(answer).find((s) => s.name === `## functions/${answer.module}.handler`)!;
    expect(handler(infer).annotations).toEqual({
      ColdStart: true,
      Service: "patchcore-inspection-dev",
      request_id: infer.body.request_id,
      endpoint: "infer",
      recipe: "line-9",
      role: "Traced",
      roi: "Pattern",
      model_version: infer.body.model_version,
    });
    expect(handler(fit).annotations).toMatchObject({ ColdStart: true, endpoint: "fit_ok", recipe: "line-9", model_version: 1 });
    // the second fitOk invocation of this process is warm
    expect(handler(answers[3]!).annotations).toMatchObject({ ColdStart: false, endpoint: "fit_ok" });
  });

  it("records each S3 call and each Lambda invocation as a subsegment of its handler's", () => {
    const calls = (answer: Answer, name: string) =>
      inTrace(answer)
        .filter((s) => s.name === name && s.namespace === "aws")
        .map((s) => s.aws!.operation);
    const [fit, infer, , job] = answers as [Answer, Answer, Answer, Answer];
    expect(calls(fit, "S3")).toEqual(expect.arrayContaining(["PutObject", "GetObject"]));
    expect(calls(infer, "S3")).toEqual(expect.arrayContaining(["GetObject"]));
    expect(calls(job, "Lambda")).toEqual(["Invoke"]);
    expect(invocations).toEqual(["POST /2015-03-31/functions/patchcore-inspection-dev-jobRunner/invocations"]);
    for (const answer of answers) {
      const handler = inTrace(answer).find((s) => s.name.startsWith("## "))!;
      for (const call of inTrace(answer).filter((s) => s.namespace === "aws")) expect([call.name, call.parent_id]).toEqual([call.name, handler.id]);
    }
  });

  it("prints no X-Ray complaint", () => {
    expect(stderr).not.toMatch(/x-?ray|segment|trace data/i);
  });
});
