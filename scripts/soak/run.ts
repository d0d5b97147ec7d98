/**
 * `npm run soak`: the throwaway local stack (serverless-offline + s3rver, texture model) under
 * sustained load, to see errors, latency and memory over time.
 *
 *   phase 1  one fitted model, `--clients` concurrent clients calling /infer for `--seconds`
 *   phase 2  `--keys` distinct keys, each fitted once with a tiny fit, then /infer cycling
 *            through them (same clients) for `--cycle-seconds`, with CACHE_MAX_BYTES small so
 *            the per-container model cache keeps evicting and reloading from S3
 *
 * Prints per phase: requests, errors (non-200 or failed), throughput, latency p50/p95/p99/max,
 * memory reloads (phase 2), and the RSS of serverless-offline's process tree (its Lambda workers
 * are threads inside it) before and after, with the peak sampled every second.
 *
 * Usage: tsx scripts/soak/run.ts [--seconds 60] [--cycle-seconds 60] [--clients 4] [--keys 200]
 *                                [--cache-max-bytes 262144] [--warmup-seconds 5] [--json out.json]
 */
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { percentiles } from "../../lib/patchcore/percentile";
import { startThrowawayStack } from "../local/stack";
import { brushedMetal, encodePng, paintSpot } from "../synthetic/images";
import { InspectionClient, type Reply } from "../../lib/contract/client";
import { flag } from "../util/cli";

interface PhaseResult {
  readonly name: string;
  readonly seconds: number;
  readonly requests: number;
  readonly errors: number;
  readonly errorSamples: string[];
  readonly perSecond: number;
  readonly latencyMs: { p50: number; p95: number; p99: number; max: number };
  readonly memoryReloads?: number;
  readonly rssMb: { before: number; after: number; peak: number; timeline: number[] };
}

/** Resident memory (VmRSS) of `pid` and every descendant process, in MB; 0 if it is gone. */
export function rssOfTreeMb(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  let kb = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      kb += Number(match?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
    stack.push(...(children.get(p) ?? []));
  }
  return kb / 1024;
}

/** Samples the tree's RSS every second until stopped: the peak, and a timeline of one sample every `every` s. */
function rssSampler(pid: number, every: number): { stop: () => { peak: number; timeline: number[] } } {
  let peak = rssOfTreeMb(pid);
  const timeline = [peak];
  let tick = 0;
  const timer = setInterval(() => {
    const now = rssOfTreeMb(pid);
    peak = Math.max(peak, now);
    if (++tick % every === 0) timeline.push(now);
  }, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      const last = rssOfTreeMb(pid);
      return { peak: Math.max(peak, last), timeline: [...timeline, last] };
    },
  };
}

/** `clients` loops calling `request(i)` (i counts across clients) until `seconds` have passed. */
async function load(
  name: string,
  pid: number,
  clients: number,
  seconds: number,
  request: (i: number) => Promise<Reply<{ timings_ms: Record<string, number> }>>,
): Promise<PhaseResult> {
  const before = rssOfTreeMb(pid);
  const sampler = rssSampler(pid, Math.max(1, Math.round(seconds / 6)));
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let reloads = 0;
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const i = next++;
        const start = performance.now();
        try {
          const res = await request(i);
          latencies.push(performance.now() - start);
          if (res.status !== 200) {
            errors += 1;
            if (errorSamples.length < 5) errorSamples.push(`${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
          } else if (res.ok().timings_ms.npz_decode !== undefined) {
            reloads += 1; // the memory was read from S3 for this request
          }
        } catch (error) {
          latencies.push(performance.now() - start);
          errors += 1;
          if (errorSamples.length < 5) errorSamples.push(String(error));
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const { peak, timeline } = sampler.stop();
  const [p50, p95, p99] = latencies.length ? percentiles(latencies, [50, 95, 99]) : [NaN, NaN, NaN];
  return {
    name,
    seconds: elapsed,
    requests: latencies.length,
    errors,
    errorSamples,
    perSecond: latencies.length / elapsed,
    latencyMs: { p50: p50!, p95: p95!, p99: p99!, max: Math.max(...latencies) },
    ...(name.startsWith("phase 2") ? { memoryReloads: reloads } : {}),
    rssMb: { before, after: timeline[timeline.length - 1]!, peak, timeline },
  };
}

function print(result: PhaseResult): void {
  const f = (v: number) => v.toFixed(1);
  console.log(
    `\n${result.name}\n` +
      `  requests ${result.requests} in ${f(result.seconds)} s (${f(result.perSecond)}/s), errors ${result.errors}` +
      (result.memoryReloads !== undefined ? `, memory reloads from S3 ${result.memoryReloads}` : "") +
      `\n  latency ms  p50 ${f(result.latencyMs.p50)}  p95 ${f(result.latencyMs.p95)}  p99 ${f(result.latencyMs.p99)}  max ${f(result.latencyMs.max)}\n` +
      `  RSS of serverless-offline (process tree) MB  before ${f(result.rssMb.before)}  after ${f(result.rssMb.after)}  peak ${f(result.rssMb.peak)}\n` +
      `  RSS timeline MB  ${result.rssMb.timeline.map((v) => v.toFixed(0)).join(" -> ")}` +
      (result.errorSamples.length ? `\n  first errors:\n    ${result.errorSamples.join("\n    ")}` : ""),
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const seconds = Number(flag(args, "--seconds") ?? 60);
  const cycleSeconds = Number(flag(args, "--cycle-seconds") ?? seconds);
  const clients = Number(flag(args, "--clients") ?? 4);
  const keys = Number(flag(args, "--keys") ?? 200);
  const cacheMaxBytes = Number(flag(args, "--cache-max-bytes") ?? 256 * 1024);
  const warmupSeconds = Number(flag(args, "--warmup-seconds") ?? 5);
  const jsonOut = flag(args, "--json");
  for (const [name, v] of Object.entries({ seconds, cycleSeconds, clients, keys, cacheMaxBytes })) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0, got ${v}`);
  }
  const root = path.resolve(__dirname, "../..");
  console.log(
    `soak: ${clients} clients, phase 1 ${seconds} s on one model, phase 2 ${keys} keys cycled for ${cycleSeconds} s, CACHE_MAX_BYTES=${cacheMaxBytes}`,
  );
  const stack = await startThrowawayStack({
    root,
    bucket: "soak",
    env: { CACHE_MAX_BYTES: String(cacheMaxBytes), LOG_LEVEL: "error" },
  });
  const results: PhaseResult[] = [];
  try {
    const api = new InspectionClient(stack.url);
    const rssAtStart = rssOfTreeMb(stack.pid);
    const train = await Promise.all([1, 2, 3, 4].map((s) => encodePng(brushedMetal(320, 200, s))));
    const probes = await Promise.all(
      [20, 21, 22, 23].map((s, i) => encodePng(i % 2 ? paintSpot(brushedMetal(320, 200, s), 160, 100, 9) : brushedMetal(320, 200, s))),
    );
    (
      await api.fitOk(
        { role_id: "soak", roi_id: "main", mm_per_px: 0.1 },
        train.map((data, i) => ({ filename: `ok${i}.png`, data })),
      )
    ).ok();
    const infer = (roi: string, image: Buffer) => api.infer({ role_id: "soak", roi_id: roi, mm_per_px: 0.1 }, { filename: "roi.png", data: image });
    await infer("main", probes[0]!); // load the model before measuring
    console.log(`RSS at start ${rssAtStart.toFixed(1)} MB, after the first fit and infer ${rssOfTreeMb(stack.pid).toFixed(1)} MB`);
    // serverless-offline starts one worker (a warm "container", with its own model and cache) per
    // concurrent request: let all of them start before measuring
    const warm = await load("warm-up", stack.pid, clients, warmupSeconds, (i) => infer("main", probes[i % probes.length]!));
    console.log(
      `warm-up ${warmupSeconds} s: ${warm.requests} requests, ${warm.errors} errors, RSS ${warm.rssMb.before.toFixed(1)} -> ${warm.rssMb.after.toFixed(1)} MB`,
    );

    results.push(await load(`phase 1: /infer on one model, ${clients} clients`, stack.pid, clients, seconds, (i) => infer("main", probes[i % probes.length]!)));
    print(results[0]!);

    // phase 2: many small models (skipped with --keys 0 or --cycle-seconds 0)
    if (keys > 0 && cycleSeconds > 0) {
      const tiny = await Promise.all([31, 32].map((s) => encodePng(brushedMetal(160, 120, s))));
      const small = await encodePng(paintSpot(brushedMetal(160, 120, 40), 80, 60, 6));
      const t0 = performance.now();
      let fitErrors = 0;
      let nextKey = 0;
      await Promise.all(
        Array.from({ length: Math.min(clients, 2) }, async () => {
          while (nextKey < keys) {
            const k = nextKey++;
            const res = await api.fitOk({ role_id: "soak", roi_id: `key-${k}`, mm_per_px: 0.1 }, [{ filename: "ok.png", data: tiny[k % 2]! }]);
            if (res.status !== 200) fitErrors += 1;
          }
        }),
      );
      console.log(
        `\nphase 2: fitted ${keys} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s (${fitErrors} errors); RSS now ${rssOfTreeMb(stack.pid).toFixed(1)} MB`,
      );
      if (fitErrors > 0) process.exitCode = 1;
      results.push(
        await load(
          `phase 2: /infer cycling through ${keys} keys, ${clients} clients, CACHE_MAX_BYTES=${cacheMaxBytes}`,
          stack.pid,
          clients,
          cycleSeconds,
          (i) => infer(`key-${i % keys}`, small),
        ),
      );
      print(results[1]!);
    }
    if (jsonOut) await writeFile(jsonOut, JSON.stringify({ clients, seconds, cycleSeconds, keys, cacheMaxBytes, rssAtStart, results }, null, 2));
    if (results.some((r) => r.errors > 0)) process.exitCode = 1;
  } finally {
    await stack.stop();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
