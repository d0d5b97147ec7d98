/**
 * What operating the service costs (`npm run bench -- --only ops`):
 * - bytes of log per request, the service's own lines only (Lambda's START/END/REPORT lines and
 *   serverless-offline's are not counted), as on Lambda: LOG_LEVEL=info and METRICS=on, through a
 *   local stack; metric (EMF) lines counted apart from log lines;
 * - a function's INIT: its handler bundled as serverless-esbuild bundles it, then required in a
 *   fresh Node process with a Lambda runtime's environment, p50 / p95 of `runs` processes.
 * `--ops-root <checkout>` measures another checkout of the project as well (e.g. the commit before
 * a change, with its own node_modules or a link to these): its INIT interleaved with this one's,
 * process by process, so both see the same machine load.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { InspectionClient } from "../../lib/contract/client";
import { startThrowawayStack, type LocalStack } from "../local/stack";
import { benchDefect, benchImages } from "./benchImages";
import { ms, summarise, type Summary } from "./stats";

export interface LogBytes {
  readonly request: string;
  readonly requests: number;
  readonly logLinesPerRequest: number;
  readonly logBytesPerRequest: number;
  readonly metricLinesPerRequest: number;
  readonly metricBytesPerRequest: number;
}

export interface InitTime {
  readonly fn: string;
  readonly root: string;
  readonly bundleBytes: number;
  readonly requireMs: Summary;
}

export interface OpsResult {
  readonly logs: { readonly root: string; readonly requests: LogBytes[] }[];
  readonly init: InitTime[];
}

/** The service's JSON lines written from `offset` on, once the output has been still for a moment. */
async function linesSince(output: () => string, offset: number): Promise<string[]> {
  let length = -1;
  while (output().length !== length) {
    length = output().length;
    await new Promise((resolve) => setTimeout(resolve, 750));
  }
  return output()
    .slice(offset)
    .split("\n")
    .map((line) => line.slice(Math.max(0, line.indexOf("{"))))
    .filter((line) => line.startsWith("{"));
}

async function logBytes(root: string, requests: number): Promise<LogBytes[]> {
  let output = "";
  const stack: LocalStack = await startThrowawayStack({
    root,
    bucket: "bench-ops",
    env: { LOG_LEVEL: "info", METRICS: "on" },
    output: (chunk) => (output += chunk),
  });
  try {
    const api = new InspectionClient(stack.url);
    const images = (await benchImages(3, 100)).map((data, i) => ({ filename: `${i}.jpg`, data }));
    const ids = { role_id: "bench", roi_id: "ops", mm_per_px: 0.1 };
    const probe = { filename: "probe.jpg", data: await benchDefect(7) };
    const kinds: [string, () => Promise<unknown>][] = [
      ["POST /infer (calibrated, 200)", async () => (await api.infer(ids, probe)).ok()],
      ["POST /fit_ok (3 images, 200)", async () => (await api.fitOk(ids, images)).ok()],
      ["POST /infer (no model, 400)", async () => (await api.infer({ ...ids, roi_id: "none" }, probe)).error()],
      ["GET /health (200)", async () => (await api.health()).ok()],
    ];
    (await api.fitOk(ids, images)).ok();
    const score = (await api.infer(ids, probe)).ok().score;
    (await api.calibrateNg({ role_id: ids.role_id, roi_id: ids.roi_id, ok_scores: [score * 0.9], ng_scores: [score * 2] })).ok();
    const out: LogBytes[] = [];
    for (const [request, run] of kinds) {
      await run(); // warm: the function's INIT lines are not a request's
      const offset = output.length;
      for (let i = 0; i < requests; i++) await run();
      const lines = await linesSince(() => output, offset);
      const metric = lines.filter((l) => l.startsWith('{"_aws"'));
      const log = lines.filter((l) => !l.startsWith('{"_aws"'));
      const bytes = (ls: string[]) => ls.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0) / requests;
      out.push({
        request,
        requests,
        logLinesPerRequest: log.length / requests,
        logBytesPerRequest: bytes(log),
        metricLinesPerRequest: metric.length / requests,
        metricBytesPerRequest: bytes(metric),
      });
    }
    return out;
  } finally {
    await stack.stop();
  }
}

/** A function's handler bundled as serverless-esbuild bundles it; its size. */
async function bundle(root: string, fn: string, outfile: string): Promise<number> {
  const result = await build({
    entryPoints: [path.join(root, "functions", `${fn}.ts`)],
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    target: "node22",
    outfile,
    external: ["onnxruntime-node", "sharp", "hnswlib-node", "swagger-ui-dist"],
    metafile: true,
    logLevel: "silent",
  });
  return Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
}

/** Milliseconds to require `outfile` in a fresh Node process with a Lambda runtime's environment. */
function requireMs(root: string, outfile: string): number {
  const child = spawnSync(
    process.execPath,
    ["-e", `const t = performance.now(); require(${JSON.stringify(outfile)}); process.stdout.write("INIT_MS " + (performance.now() - t))`],
    {
      cwd: path.dirname(outfile),
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        NODE_PATH: path.join(root, "node_modules"),
        MODEL_DIR: path.join(root, "layers/runtime/models"),
        LOG_LEVEL: "error",
        // a Lambda runtime's, so the tracer and the metrics take their deployed paths
        AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
        AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
        LAMBDA_TASK_ROOT: path.dirname(outfile),
        AWS_REGION: "us-east-1",
      },
    },
  );
  const match = /INIT_MS ([\d.]+)/.exec(child.stdout);
  if (!match) throw new Error(`${outfile} did not load: ${child.stderr.slice(-2000)}`);
  return Number(match[1]);
}

async function initTimes(roots: readonly string[], runs: number): Promise<InitTime[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "bench-init-"));
  try {
    const out: InitTime[] = [];
    for (const fn of ["infer", "health", "docs"]) {
      const bundles = await Promise.all(
        roots.map(async (root, r) => {
          const outfile = path.join(dir, `${fn}-${r}.js`);
          return { root, outfile, bytes: await bundle(root, fn, outfile), times: [] as number[] };
        }),
      );
      for (let i = 0; i < runs; i++) for (const b of bundles) b.times.push(requireMs(b.root, b.outfile));
      out.push(...bundles.map((b) => ({ fn, root: b.root, bundleBytes: b.bytes, requireMs: summarise(b.times) })));
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchOps(root: string, runs: number, otherRoot?: string): Promise<OpsResult> {
  const roots = otherRoot ? [otherRoot, root] : [root];
  const init = await initTimes(roots, runs);
  const logs = [];
  for (const r of roots) logs.push({ root: r, requests: await logBytes(r, runs) });
  return { init, logs };
}

export function opsTable(result: OpsResult): string {
  return [
    "### Log bytes per request (LOG_LEVEL=info, METRICS=on as on Lambda; the service's own lines)",
    "",
    "| checkout | request | log lines | log bytes | metric lines | metric bytes | total bytes |",
    "|---|---|---:|---:|---:|---:|---:|",
    ...result.logs.flatMap(({ root, requests }) =>
      requests.map(
        (l) =>
          `| ${root} | ${l.request} | ${l.logLinesPerRequest.toFixed(1)} | ${l.logBytesPerRequest.toFixed(0)} | ${l.metricLinesPerRequest.toFixed(1)} | ${l.metricBytesPerRequest.toFixed(0)} | ${(l.logBytesPerRequest + l.metricBytesPerRequest).toFixed(0)} |`,
      ),
    ),
    "",
    "### INIT: the bundled handler required in a fresh process (checkouts interleaved), ms",
    "",
    "| function | checkout | bundle | p50 / p95 |",
    "|---|---|---:|---:|",
    ...result.init.map((i) => `| ${i.fn} | ${i.root} | ${(i.bundleBytes / 1e6).toFixed(2)} MB | ${ms(i.requireMs.p50)} / ${ms(i.requireMs.p95)} |`),
  ].join("\n");
}
