/**
 * `npm run package`: stages the layer's native addons, runs `serverless package` (no AWS
 * credentials or network needed) and reports each artefact's zipped and unzipped size, failing
 * if a function plus the layer would exceed Lambda's 250 MB unzipped limit.
 * Usage: tsx scripts/deploy/package.ts [serverless options, e.g. --stage prod]
 */
import { spawnSync } from "node:child_process";
import { readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { stageLayer } from "./stageLayer";
import { unzippedBytes } from "./zipSize";

export const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;

export interface PackageReport {
  artefacts: { name: string; zippedBytes: number; unzippedBytes: number; files: number }[];
  layerUnzippedBytes: number;
  largestFunctionWithLayerBytes: number;
  limitBytes: number;
}

export async function packageService(root: string, args: string[] = []): Promise<PackageReport> {
  await stageLayer(root);
  const serverlessBin = path.join(root, "node_modules/.bin/serverless");
  const result = spawnSync(serverlessBin, ["package", ...args], {
    cwd: root,
    stdio: "inherit",
    // its own bundle folder (deleted when done), never the one a running npm start serves from
    env: { ...process.env, SLS_TELEMETRY_DISABLED: "1", SLS_NOTIFICATIONS_MODE: "off", ESBUILD_WORK_FOLDER: path.join(".esbuild", "package") },
  });
  if (result.status !== 0) throw new Error(`serverless package exited with ${result.status ?? result.signal}`);
  const dir = path.join(root, ".serverless");
  const artefacts = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".zip")).sort()) {
    const zipPath = path.join(dir, file);
    const { bytes, files } = await unzippedBytes(zipPath);
    artefacts.push({ name: file.replace(/\.zip$/, ""), zippedBytes: (await stat(zipPath)).size, unzippedBytes: bytes, files });
  }
  const layer = artefacts.find((a) => a.name === "runtime");
  if (!layer) throw new Error("serverless package produced no runtime layer zip");
  const functions = artefacts.filter((a) => a !== layer);
  const largest = Math.max(...functions.map((f) => f.unzippedBytes));
  return {
    artefacts,
    layerUnzippedBytes: layer.unzippedBytes,
    largestFunctionWithLayerBytes: largest + layer.unzippedBytes,
    limitBytes: LAMBDA_UNZIPPED_LIMIT,
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

if (require.main === module) {
  packageService(process.cwd(), process.argv.slice(2))
    .then(async (report) => {
      console.log("\n| artefact | files | zipped | unzipped |\n|---|---:|---:|---:|");
      for (const a of report.artefacts) console.log(`| ${a.name} | ${a.files} | ${mb(a.zippedBytes)} | ${mb(a.unzippedBytes)} |`);
      console.log(`\nlargest function + layer, unzipped: ${mb(report.largestFunctionWithLayerBytes)} (Lambda limit ${mb(report.limitBytes)})`);
      await writeFile(path.join(process.cwd(), ".serverless/size-report.json"), JSON.stringify(report, null, 2));
      if (report.largestFunctionWithLayerBytes > report.limitBytes) {
        console.error("over Lambda's unzipped size limit");
        process.exit(1);
      }
    })
    .catch((error: unknown) => {
      console.error("package failed:", error);
      process.exit(1);
    });
}
