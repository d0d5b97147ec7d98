/**
 * `npm run bench`: the product's performance figures, measured in one process on this machine.
 * Prints markdown tables and writes bench-results/bench-<timestamp>.json.
 * Options: --runs N (default 20), --quick (fewer runs, for a smoke check).
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { benchExtraction, extractionTable } from "./extraction";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const runsFlag = args.indexOf("--runs");
  const runs = runsFlag >= 0 ? Number(args[runsFlag + 1]) : quick ? 5 : 20;
  const root = path.resolve(__dirname, "../..");
  const modelDir = path.join(root, "layers/runtime/models");
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  console.log(`# Benchmark (${machine.cpus} cores, ${machine.cpu}, Node ${machine.node}, ${runs} runs)\n`);

  const extraction = [];
  for (const model of ["texture-s14", "vit-s14-shape"]) {
    for (const threads of [1, 2]) extraction.push(await benchExtraction(modelDir, model, threads, runs));
  }
  console.log(extractionTable(extraction));

  const results = { when: new Date().toISOString(), command: `npm run bench -- ${args.join(" ")}`.trim(), machine, runs, extraction };
  const outDir = path.join(root, "bench-results");
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, `bench-${results.when.replace(/[:.]/g, "-")}.json`);
  await writeFile(file, JSON.stringify(results, null, 2));
  console.log(`\nwrote ${path.relative(root, file)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
