/**
 * What the integration tests of one `jest` run share, kept by the integration project's global
 * setup (test/helpers/globalSetup.ts) in jest's own process and reached by the test files (in
 * jest's workers, or in band) over HTTP on loopback, at the URL in TEST_STACK_HOST:
 *
 *   GET /bundle          the service bundled once for the run (bundleService): every stack of
 *                        the run serves from it, none bundles
 *   GET /stacks/<name>   a shared stack of SHARED_STACKS, started on the first request for it,
 *                        kept until the run ends; its serverless-offline output goes to a file
 *
 * Nothing starts before a test file asks for it: a run of unit tests alone starts nothing (the
 * setup runs only when the integration project has a test to run), nor does a run of integration
 * files that start no stack.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { appendFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { bundleService, startThrowawayStack, type LocalStack } from "../../scripts/local/stack";

export const PROJECT_ROOT = path.resolve(__dirname, "../..");
export const TEST_BUCKET = "test-models";
export const HOST_VARIABLE = "TEST_STACK_HOST";
/**
 * serverless-offline arguments of every test stack: a function's worker thread stays up for the
 * run once started (serverless-offline ends those idle for 60 s by default), so a function that
 * files use minutes apart starts once (loading its bundle, the ONNX session) rather than each time.
 */
export const TEST_STACK_ARGS = ["--terminateIdleLambdaTime", "3600"] as const;

/**
 * The stacks test files share: one per distinct environment. A file on a shared stack writes
 * only under ids (role, roi, recipe) of its own, and matches only its own log lines.
 */
export const SHARED_STACKS = {
  /**
   * The service on its defaults, but: a re-fit or re-calibration is seen at once (datasets,
   * refitRace), and a dataset fit of 6 images takes 2 workers (cli).
   */
  main: { CACHE_TTL_MS: "0", FIT_CHUNK_IMAGES: "4" },
} as const satisfies Record<string, Record<string, string>>;
export type SharedStackName = keyof typeof SHARED_STACKS;

/** What a test file gets of a shared stack. */
export interface SharedStackInfo {
  readonly url: string;
  readonly s3Endpoint: string;
  readonly bucket: string;
  readonly buildDir: string;
  readonly pid: number;
  readonly env: Readonly<Record<string, string>>;
  /** The stack's serverless-offline output so far is this file's content. */
  readonly logFile: string;
}

export class StackHost {
  private server: http.Server | undefined;
  private bundling: Promise<string> | undefined;
  private readonly stacks = new Map<string, Promise<{ stack: LocalStack; info: SharedStackInfo }>>();
  private readonly workFolder = path.join(".esbuild", `test-run-${process.pid}`);
  private readonly logDir: Promise<string>;
  private readonly killOnExit = () => this.killAll();
  private readonly pids = new Set<number>();

  constructor() {
    this.logDir = mkdtemp(path.join(os.tmpdir(), "test-stacks-"));
    process.on("exit", this.killOnExit);
  }

  /** Listens on a free loopback port; answers its URL. */
  async listen(): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.answer(req.url ?? "/").then(
        (body) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body)),
        (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(error instanceof Error ? (error.stack ?? error.message) : String(error)),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async answer(url: string): Promise<unknown> {
    if (url === "/bundle") return { serviceDir: await this.bundle() };
    const shared = /^\/stacks\/([A-Za-z0-9_-]+)$/.exec(url);
    if (shared && Object.hasOwn(SHARED_STACKS, shared[1]!)) return (await this.shared(shared[1] as SharedStackName)).info;
    throw new Error(`no such thing here: ${url} (shared stacks: ${Object.keys(SHARED_STACKS).join(", ")})`);
  }

  /** The run's bundle, made on the first request for it (a failure names serverless's output). */
  private bundle(): Promise<string> {
    this.bundling ??= bundleService({ root: PROJECT_ROOT, workFolder: this.workFolder });
    return this.bundling;
  }

  private shared(name: SharedStackName): Promise<{ stack: LocalStack; info: SharedStackInfo }> {
    let started = this.stacks.get(name);
    if (!started) {
      started = (async () => {
        const serviceDir = await this.bundle();
        const logFile = path.join(await this.logDir, `${name}.log`);
        writeFileSync(logFile, "");
        const stack = await startThrowawayStack({
          root: PROJECT_ROOT,
          bucket: TEST_BUCKET,
          env: SHARED_STACKS[name],
          serviceDir,
          serverlessArgs: TEST_STACK_ARGS,
          output: (chunk) => appendFileSync(logFile, chunk),
        });
        this.pids.add(stack.pid);
        const info: SharedStackInfo = {
          url: stack.url,
          s3Endpoint: stack.s3Endpoint,
          bucket: TEST_BUCKET,
          buildDir: stack.buildDir,
          pid: stack.pid,
          env: stack.env,
          logFile,
        };
        return { stack, info };
      })();
      this.stacks.set(name, started);
    }
    return started;
  }

  /** Stops the shared stacks, removes the bundle and the logs. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const started of this.stacks.values()) {
      const stack = await started.then(
        (s) => s.stack,
        () => undefined,
      );
      await stack?.stop();
    }
    await this.bundling?.catch(() => undefined);
    await rm(path.join(PROJECT_ROOT, this.workFolder), { recursive: true, force: true });
    await rm(await this.logDir, { recursive: true, force: true });
    process.off("exit", this.killOnExit);
  }

  /** When jest's process ends without its teardown (a crash, Ctrl-C): no serverless-offline outlives it. */
  private killAll(): void {
    for (const pid of this.pids) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

/** The run's host, for the test files. */
export async function askHost<T>(what: string): Promise<T> {
  const host = process.env[HOST_VARIABLE];
  if (!host) throw new Error(`${HOST_VARIABLE} is not set: run the integration tests through jest (jest.config.js's integration project sets it up)`);
  const response = await fetch(`${host}${what}`);
  const text = await response.text();
  if (!response.ok) throw new Error(`the test run's stack host could not give ${what}:\n${text}`);
  return JSON.parse(text) as T;
}
