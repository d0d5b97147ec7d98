import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from "../../scripts/local/s3Server";
import { freePort } from "../../scripts/util/ports";
import { postJson } from "../helpers/api";
import { jsonOf } from "../helpers/http";
import { PROJECT_ROOT, startTestStack } from "../helpers/testStack";

const TSX = path.join(PROJECT_ROOT, "node_modules/.bin/tsx");
const START = path.join(PROJECT_ROOT, "scripts/local/start.ts");

/** `npm start`'s server step as a child process; resolves with its output once it is ready (or has exited). */
function runStart(env: Record<string, string>): { child: ChildProcess; output: () => string; ready: Promise<"ready" | number> } {
  const child = spawn(TSX, [START], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: serverless-offline goes with it
  });
  let output = "";
  const ready = new Promise<"ready" | number>((resolve) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      if (output.includes("Inspection API ready at")) resolve("ready");
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => resolve(code ?? -1));
  });
  return { child, output: () => output, ready };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  process.kill(-child.pid!, "SIGINT");
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

describe("npm start (scripts/local/start.ts)", () => {
  let s3: LocalS3;
  let s3Dir: string;
  let modelDir: string;

  beforeAll(async () => {
    // an S3 server of the test's own, so npm start's .local/s3 is not touched
    s3Dir = await mkdtemp(path.join(os.tmpdir(), "start-s3-"));
    s3 = await startLocalS3({ directory: s3Dir, bucket: "start-test", port: await freePort() });
    // a user's own model folder, with a model of another name and id
    modelDir = await mkdtemp(path.join(os.tmpdir(), "user-models-"));
    const generated = path.join(PROJECT_ROOT, "layers/runtime/models");
    await copyFile(path.join(generated, "texture-s14.onnx"), path.join(modelDir, "my-model.onnx"));
    const card = JSON.parse(await readFile(path.join(generated, "texture-s14.card.json"), "utf8"));
    await writeFile(path.join(modelDir, "my-model.card.json"), JSON.stringify({ ...card, id: "my-model-v7" }));
  });

  afterAll(async () => {
    await s3?.close();
    await rm(s3Dir, { recursive: true, force: true });
    await rm(modelDir, { recursive: true, force: true });
  });

  const storeEnv = () => ({
    S3_ENDPOINT: s3.endpoint,
    MODELS_BUCKET: "start-test",
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });

  it("serves the model of a user-set MODEL_DIR, and keeps serving while another local stack starts and stops", async () => {
    const httpPort = await freePort();
    const start = runStart({ ...storeEnv(), HTTP_PORT: String(httpPort), LAMBDA_PORT: String(await freePort()), MODEL_DIR: modelDir, MODEL_NAME: "my-model" });
    try {
      expect(await start.ready).toBe("ready");
      expect(start.output()).toContain(`Model: my-model from ${modelDir}`);
      const url = `http://127.0.0.1:${httpPort}`;
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect((await jsonOf(health)).model).toBe("my-model-v7");

      // a test stack (as `npm test` starts) serves from the test run's bundle, never from npm start's folder
      const other = await startTestStack();
      expect(other.buildDir).not.toBe(path.join(PROJECT_ROOT, ".esbuild", `offline-${httpPort}`));
      expect(path.relative(path.join(PROJECT_ROOT, ".esbuild", `offline-${httpPort}`), other.buildDir)).toMatch(/^\.\.\//);
      expect((await fetch(`${other.url}/health`)).status).toBe(200);
      await other.stop();
      expect(existsSync(path.join(PROJECT_ROOT, ".esbuild", `offline-${httpPort}`, ".build/functions/calibrateNg.js"))).toBe(true);
      // a handler this server has not loaded yet: read from its bundle now
      const first = await postJson(`${url}/calibrate_ng`, { role_id: "nobody", roi_id: "none", ok_scores: [1] });
      expect(first.status).toBe(400);
      expect(first.body.error).toMatch(/mm_per_px is required: no memory is fitted/);
    } finally {
      await stop(start.child);
      await rm(path.join(PROJECT_ROOT, ".esbuild", `offline-${httpPort}`), { recursive: true, force: true });
    }
  }, 180_000);

  it.each(["HTTP_PORT", "S3_PORT"])(
    "a busy %s: one clear line naming the port and the variable, exit status 1",
    async (variable) => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      const busy = (blocker.address() as net.AddressInfo).port;
      try {
        const env: Record<string, string> = {
          HTTP_PORT: String(await freePort()),
          LAMBDA_PORT: String(await freePort()),
          S3_PORT: String(await freePort()),
          S3_ENDPOINT: "",
        };
        env[variable] = String(busy);
        const start = runStart(env);
        const outcome = await start.ready;
        expect(outcome).toBe(1);
        const lines = start.output().trim().split("\n");
        expect(lines).toEqual([expect.stringMatching(new RegExp(`^Port ${busy} \\(${variable}\\) is already in use: .*${variable}=\\d+ npm start$`))]);
      } finally {
        blocker.close();
      }
    },
    60_000,
  );
});
