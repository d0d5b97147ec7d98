import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "../util/ports";
import { loadConfig } from "../../lib/config";
import { createS3Client, ensureBucket } from "../../lib/store/s3Client";
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from "./s3Server";

export interface LocalStackOptions {
  readonly root: string;
  readonly httpPort: number;
  readonly lambdaPort: number;
  /** When set, the service uses this S3 endpoint (LocalStack, MinIO, ...) and no embedded server starts. */
  readonly externalS3Endpoint?: string;
  readonly s3Port: number;
  readonly s3Directory: string;
  readonly bucket: string;
  /**
   * The S3 endpoint the service is given, when it differs from the store's own (e.g. a
   * fault-injecting proxy in front of it); the bucket is still created on the store's.
   */
  readonly serviceS3Endpoint?: string;
  /** Folder of the ONNX models (default: the project's layers/runtime/models). */
  readonly modelDir?: string;
  /**
   * serverless-esbuild's work folder, relative to `root` (default `.esbuild/offline-<httpPort>`):
   * each stack bundles into and serves from its own, so another stack, a test run or
   * `npm run package` (which deletes its own folder when done) cannot pull the code from under it.
   */
  readonly buildFolder?: string;
  /**
   * A service folder made by bundleService(): the stack serves its already bundled handlers and
   * bundles nothing (buildFolder is then unused). Several stacks may serve from one.
   */
  readonly serviceDir?: string;
  /** Extra environment for the service (MODEL_NAME, LOG_LEVEL, limits...). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Stage settings for this run (serverless.yml `params`, as `--param="name=value"`), e.g.
   * `{ enforceLocally: "true" }` to apply the stage's API key and source ranges locally.
   */
  readonly params?: Readonly<Record<string, string>>;
  /** More arguments for `serverless offline start` (e.g. `--stage plant-a`). */
  readonly serverlessArgs?: readonly string[];
  /** Where serverless-offline's output goes (default: this process's stdout/stderr). */
  readonly output?: (chunk: string) => void;
  readonly startTimeoutMs?: number;
}

export interface LocalStack {
  readonly url: string;
  /** The store's own endpoint (the service's may differ: see serviceS3Endpoint). */
  readonly s3Endpoint: string;
  /** serverless-offline's process id (its workers run inside it). */
  readonly pid: number;
  /** Absolute path of the bundle folder this stack serves from. */
  readonly buildDir: string;
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * The whole service on this machine: an S3-compatible server (embedded s3rver unless an
 * external endpoint is given) and serverless-offline serving the real handlers over HTTP.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  let s3: LocalS3 | undefined;
  let endpoint = options.externalS3Endpoint;
  if (!endpoint) {
    s3 = await startLocalS3({ directory: options.s3Directory, bucket: options.bucket, port: options.s3Port });
    endpoint = s3.endpoint;
  } else {
    const config = loadConfig({ ...process.env, S3_ENDPOINT: endpoint, MODELS_BUCKET: options.bucket });
    await ensureBucket(createS3Client(config.s3), options.bucket);
  }
  const buildFolder = options.buildFolder ?? path.join(".esbuild", `offline-${options.httpPort}`);
  const env: Record<string, string> = {
    S3_ENDPOINT: options.serviceS3Endpoint ?? endpoint,
    MODELS_BUCKET: options.bucket,
    MODEL_DIR: options.modelDir ?? path.join(options.root, "layers/runtime/models"),
    ...(options.serviceDir ? {} : { ESBUILD_WORK_FOLDER: buildFolder }),
    HTTP_PORT: String(options.httpPort),
    LAMBDA_PORT: String(options.lambdaPort),
    // coordinators invoke the worker through serverless-offline's Lambda endpoint, as through AWS Lambda deployed
    LAMBDA_ENDPOINT: `http://127.0.0.1:${options.lambdaPort}`,
    ...(options.externalS3Endpoint ? {} : { AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey }),
    ...options.env,
  };
  const args = [
    "offline",
    "start",
    ...Object.entries(options.params ?? {}).map(([name, value]) => `--param=${name}=${value}`),
    ...(options.serverlessArgs ?? []),
  ];
  const child = spawn(path.join(options.root, "node_modules/.bin/serverless"), args, {
    cwd: options.serviceDir ?? options.root,
    env: { ...process.env, ...env, SLS_TELEMETRY_DISABLED: "1", SLS_NOTIFICATIONS_MODE: "off", FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so stop() ends serverless and its workers together
  });
  const write = options.output ?? ((chunk: string) => process.stdout.write(chunk));
  const url = `http://127.0.0.1:${options.httpPort}`;
  try {
    await waitForReady(child, write, options.startTimeoutMs ?? 120_000);
  } catch (error) {
    await stopChild(child);
    await s3?.close();
    throw error;
  }
  return {
    url,
    s3Endpoint: endpoint,
    pid: child.pid!,
    buildDir: options.serviceDir ?? path.join(options.root, buildFolder),
    env,
    stop: async () => {
      await stopChild(child);
      await s3?.close();
    },
  };
}

function waitForReady(child: ChildProcess, write: (chunk: string) => void, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => reject(new Error(`serverless-offline not ready after ${timeoutMs} ms:\n${log.slice(-4000)}`)), timeoutMs);
    const onData = (data: Buffer) => {
      const text = data.toString();
      log += text;
      write(text);
      if (log.includes("Server ready:")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serverless-offline exited (${code ?? signal}) before it was ready:\n${log.slice(-4000)}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  signalGroup("SIGINT");
  const timer = setTimeout(() => signalGroup("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** The plugin line left out of the bundled service's serverless.yml (its handlers are bundled already). */
const BUNDLING_PLUGIN = "  - serverless-esbuild\n";

/**
 * Bundles every function once, as serverless-esbuild does for `serverless offline start`, and
 * makes the bundle a service folder that stacks serve from without bundling again
 * (LocalStackOptions.serviceDir): a short `serverless offline start` bundles into
 * `<root>/<workFolder>/.build` and is stopped once ready (so its file watcher never re-bundles
 * into a folder others serve from); that folder then gets serverless.yml less the bundling
 * plugin, and links to the project's node_modules (the externals: onnxruntime-node, sharp,
 * hnswlib-node, swagger-ui-dist), scripts (the local plugins) and layers. serverless resolves
 * `functions/<name>.handler` there to the bundled `functions/<name>.js`, as it does in the build
 * folder serverless-esbuild points serverless-offline to. Removing the folder is the caller's.
 */
export async function bundleService(options: {
  root: string;
  /** Relative to root, e.g. `.esbuild/test-<pid>`. */
  workFolder: string;
  output?: (chunk: string) => void;
  timeoutMs?: number;
}): Promise<string> {
  const yml = await readFile(path.join(options.root, "serverless.yml"), "utf8");
  if (!yml.includes(BUNDLING_PLUGIN)) throw new Error(`serverless.yml has no plugin line ${JSON.stringify(BUNDLING_PLUGIN)}: update bundleService()`);
  const child = spawn(path.join(options.root, "node_modules/.bin/serverless"), ["offline", "start"], {
    cwd: options.root,
    env: {
      ...process.env,
      ESBUILD_WORK_FOLDER: options.workFolder,
      HTTP_PORT: String(await freePort()),
      LAMBDA_PORT: String(await freePort()),
      SLS_TELEMETRY_DISABLED: "1",
      SLS_NOTIFICATIONS_MODE: "off",
      FORCE_COLOR: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  try {
    await waitForReady(child, options.output ?? (() => undefined), options.timeoutMs ?? 180_000);
  } finally {
    await stopChild(child);
  }
  const serviceDir = path.join(options.root, options.workFolder, ".build");
  await mkdir(serviceDir, { recursive: true });
  await writeFile(path.join(serviceDir, "serverless.yml"), yml.replace(BUNDLING_PLUGIN, ""));
  for (const entry of ["node_modules", "scripts", "layers", "package.json"]) await symlink(path.join(options.root, entry), path.join(serviceDir, entry));
  return serviceDir;
}

/**
 * A local stack on free ports with a fresh S3 folder that stop() removes: for tests, the bench
 * and the evaluation, which must not touch npm start's ports or its stored models.
 */
export async function startThrowawayStack(options: {
  root: string;
  bucket: string;
  env?: Readonly<Record<string, string>>;
  output?: (chunk: string) => void;
  /** The embedded S3 server's port (default: a free one), e.g. to put a proxy in front of it first. */
  s3Port?: number;
  serviceS3Endpoint?: string;
  params?: Readonly<Record<string, string>>;
  /** Folder of the ONNX models (default: the project's layers/runtime/models). */
  modelDir?: string;
  /** Serve from this bundleService() folder (left in place) instead of bundling into a folder of the stack's own. */
  serviceDir?: string;
  /** More arguments for `serverless offline start`. */
  serverlessArgs?: readonly string[];
}): Promise<LocalStack> {
  const s3Directory = await mkdtemp(path.join(os.tmpdir(), `${options.bucket}-s3-`));
  const httpPort = await freePort();
  const buildFolder = path.join(".esbuild", `throwaway-${process.pid}-${httpPort}`);
  const cleanUp = async () => {
    await rm(s3Directory, { recursive: true, force: true });
    if (!options.serviceDir) await rm(path.join(options.root, buildFolder), { recursive: true, force: true });
  };
  try {
    const stack = await startLocalStack({
      root: options.root,
      httpPort,
      lambdaPort: await freePort(),
      s3Port: options.s3Port ?? (await freePort()),
      s3Directory,
      bucket: options.bucket,
      serviceS3Endpoint: options.serviceS3Endpoint,
      buildFolder,
      serviceDir: options.serviceDir,
      serverlessArgs: options.serverlessArgs,
      params: options.params,
      modelDir: options.modelDir,
      env: { LOG_LEVEL: "warn", ...options.env },
      output: options.output ?? (() => undefined),
    });
    return {
      ...stack,
      stop: async () => {
        await stack.stop();
        await cleanUp();
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
