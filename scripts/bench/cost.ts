/**
 * Estimated AWS cost of the measured work: per 1000 inferences and per fit of 20 images, at the
 * memory sizes serverless.yml gives the functions, from the durations `npm run bench` measured.
 *
 * Prices: AWS's published on-demand prices for us-east-1 (eu-west-1 has the same Lambda and API
 * Gateway prices), x86_64, first tier, without the free tier, as known on 2025-06 (Lambda's
 * per-GB-second price has been $0.0000166667 since 1 ms billing began in December 2020). They
 * could not be checked from this offline machine: check them at aws.amazon.com/lambda/pricing,
 * aws.amazon.com/api-gateway/pricing and aws.amazon.com/s3/pricing before quoting a figure.
 *
 * Usage: tsx scripts/bench/cost.ts bench-results/bench-<time>.json  (recomputes from a saved run)
 */
import { parseServerlessYml } from "../util/serverlessYml";
import { readFileSync } from "node:fs";
import path from "node:path";

export const PRICES = {
  region: "us-east-1",
  architecture: "x86_64",
  asOf: "2025-06 (published prices as known then; not verifiable offline: check before quoting)",
  /** Lambda compute, per GB-second (first 6 billion GB-s a month). */
  lambdaPerGbSecond: 0.0000166667,
  /** Lambda requests, per request ($0.20 per million). */
  lambdaPerRequest: 0.2 / 1_000_000,
  /** API Gateway REST API requests, per request ($3.50 per million, first 333 million a month). */
  apiGatewayPerRequest: 3.5 / 1_000_000,
  /** S3 Standard GET/HEAD, per request ($0.0004 per 1000). */
  s3PerGet: 0.0004 / 1000,
  /** S3 Standard PUT/COPY/LIST, per request ($0.005 per 1000). */
  s3PerPut: 0.005 / 1000,
} as const;

export interface CostLine {
  readonly what: string;
  readonly memoryMb: number;
  /** The measured duration the figure comes from, and where it was measured. */
  readonly durationMs: number;
  readonly durationSource: string;
  readonly count: number;
  readonly gbSeconds: number;
  readonly lambdaCompute: number;
  readonly lambdaRequests: number;
  readonly apiGateway: number;
  readonly s3: number;
  readonly total: number;
}

/**
 * `count` invocations of `durationMs` each at `memoryMb`: Lambda bills each invocation's
 * duration rounded up to the millisecond, times the memory in GB (1 GB = 1024 MB).
 */
export function lambdaCost(
  what: string,
  options: { memoryMb: number; durationMs: number; durationSource: string; count: number; s3Gets?: number; s3Puts?: number; viaApiGateway?: boolean },
): CostLine {
  const { memoryMb, durationMs, count } = options;
  const gbSeconds = (count * Math.ceil(durationMs) * memoryMb) / 1024 / 1000;
  const lambdaCompute = gbSeconds * PRICES.lambdaPerGbSecond;
  const lambdaRequests = count * PRICES.lambdaPerRequest;
  const apiGateway = options.viaApiGateway === false ? 0 : count * PRICES.apiGatewayPerRequest;
  const s3 = count * ((options.s3Gets ?? 0) * PRICES.s3PerGet + (options.s3Puts ?? 0) * PRICES.s3PerPut);
  return {
    what,
    memoryMb,
    durationMs,
    durationSource: options.durationSource,
    count,
    gbSeconds,
    lambdaCompute,
    lambdaRequests,
    apiGateway,
    s3,
    total: lambdaCompute + lambdaRequests + apiGateway + s3,
  };
}

/** memorySize of each function in serverless.yml (provider default for those without one). */
export function memorySizes(serverlessYml: string): Record<string, number> {
  const yml = parseServerlessYml(serverlessYml);
  const fallback = yml.provider.memorySize ?? 1024;
  return Object.fromEntries(Object.entries(yml.functions ?? {}).map(([name, fn]) => [name, fn.memorySize ?? fallback]));
}

/** Dollars with 3 significant digits below a cent (a fit's request fee is $0.000000200). */
const usd = (value: number) =>
  value === 0 ? "$0" : value >= 0.01 ? `$${value.toFixed(4)}` : `$${value.toFixed(Math.max(4, 2 - Math.floor(Math.log10(value))))}`;

/** The bench's inference results (results.inference) as cost lines. */
export function costLines(inference: Record<string, any>, memory: Record<string, number>): CostLine[] {
  const lines: CostLine[] = [];
  for (const [model, result] of Object.entries(inference)) {
    const inferMb = memory.infer ?? 1024;
    const fitMb = memory.fitOk ?? 1024;
    for (const bank of (result.infer?.banks ?? []) as any[]) {
      // per inference: a HEAD of the memory, of the calibration and of the recipe at most (revalidation), no PUT
      lines.push(
        lambdaCost(`1000 x /infer, ${model}, ${bank.rows}-row bank (warm)`, {
          memoryMb: inferMb,
          durationMs: bank.chosen.total.p50,
          durationSource: `warm /infer p50 (kNN ${bank.chosen.knn}), use case in-process`,
          count: 1000,
          s3Gets: 3,
        }),
      );
    }
    if (result.infer?.cold) {
      lines.push(
        lambdaCost(`a cold start of /infer, ${model}`, {
          memoryMb: inferMb,
          durationMs: result.infer.cold.firstInferMs,
          durationSource: "first /infer of a fresh process (model load + S3 GET)",
          count: 1,
          s3Gets: 3,
          viaApiGateway: false,
        }),
      );
    }
    const fit20 = ((result.fit?.fits ?? []) as any[]).find((f) => f.images === 20);
    if (fit20) {
      // a fit reads the recipe, writes the memory (and an index when the kNN policy wants one)
      lines.push(
        lambdaCost(`1 x /fit_ok, 20 images, ${model}`, {
          memoryMb: fitMb,
          durationMs: fit20.total_ms,
          durationSource: "/fit_ok of 20 images, use case in-process",
          count: 1,
          s3Gets: 2,
          s3Puts: 2,
        }),
      );
    }
  }
  return lines;
}

export function costTable(lines: readonly CostLine[]): string {
  const out = [
    `### Estimated AWS cost (${PRICES.region}, ${PRICES.architecture}, on-demand, no free tier; prices ${PRICES.asOf})`,
    "",
    `Lambda $${PRICES.lambdaPerGbSecond} per GB-s and $0.20 per million requests; API Gateway REST $3.50 per million; S3 $0.0004 per 1000 GET/HEAD, $0.005 per 1000 PUT.`,
    "Durations are this machine's (2 cores; 3538 MB buys 2 vCPUs on Lambda, but not the same CPU): an estimate, not a quote.",
    "",
    "| what | memory | measured duration (where) | GB-s | Lambda compute | Lambda requests | API Gateway | S3 | total |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const l of lines) {
    out.push(
      `| ${l.what} | ${l.memoryMb} MB | ${l.durationMs.toFixed(1)} ms (${l.durationSource}) | ${l.gbSeconds.toFixed(3)} | ${usd(l.lambdaCompute)} | ${usd(l.lambdaRequests)} | ${usd(l.apiGateway)} | ${usd(l.s3)} | **${usd(l.total)}** |`,
    );
  }
  out.push(
    "",
    "Not included: data transfer out, CloudWatch Logs ingestion (~one JSON line per request), S3 storage (memories: a 10k-row ViT-S/14 bank is ~47 MB), the stored replaced versions until they expire.",
  );
  return out.join("\n");
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: tsx scripts/bench/cost.ts bench-results/bench-<time>.json");
    process.exit(2);
  }
  const results = JSON.parse(readFileSync(file, "utf8")) as { inference?: Record<string, any>; when?: string };
  if (!results.inference) {
    console.error(`${file} has no inference section: run npm run bench -- --only inference`);
    process.exit(1);
  }
  const memory = memorySizes(readFileSync(path.resolve(__dirname, "../../serverless.yml"), "utf8"));
  console.log(`(durations measured ${results.when ?? "?"}, ${file})\n`);
  console.log(costTable(costLines(results.inference, memory)));
}
