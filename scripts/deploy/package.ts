/**
 * `npm run package`: stages the layer's native addons, runs `serverless package` (no AWS
 * credentials or network needed) and reports each artefact's zipped and unzipped size, failing
 * if a function plus the layer would exceed Lambda's 250 MB unzipped limit.
 * Usage: tsx scripts/deploy/package.ts [serverless options, e.g. --stage prod]
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { LayerError, nativeTable, stageLayer, type StageReport } from "./stageLayer";
import { unzippedBytes } from "./zipSize";

export const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;

export interface PackageReport {
  artefacts: { name: string; zippedBytes: number; unzippedBytes: number; files: number }[];
  layerUnzippedBytes: number;
  largestFunctionWithLayerBytes: number;
  limitBytes: number;
  /** Runtime and architectures of the functions, and the runtimes the layer declares, from the compiled template. */
  runtimes: { functions: string[]; architectures: string[]; layer: string[] };
  layer: StageReport;
}

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

/** What the compiled CloudFormation template says about runtimes. */
async function runtimesOf(root: string): Promise<PackageReport["runtimes"]> {
  const template = JSON.parse(await readFile(path.join(root, ".serverless/cloudformation-template-update-stack.json"), "utf8")) as Template;
  const resources = Object.values(template.Resources);
  const functions = resources.filter((r) => r.Type === "AWS::Lambda::Function").map((r) => r.Properties);
  const layers = resources.filter((r) => r.Type === "AWS::Lambda::LayerVersion").map((r) => r.Properties);
  return {
    functions: [...new Set(functions.map((f) => String(f.Runtime)))],
    architectures: [...new Set(functions.flatMap((f) => (f.Architectures as string[] | undefined) ?? ["x86_64"]))],
    layer: [...new Set(layers.flatMap((l) => (l.CompatibleRuntimes as string[] | undefined) ?? []))],
  };
}

export async function packageService(root: string, args: string[] = []): Promise<PackageReport> {
  const layer = await stageLayer(root);
  const serverlessBin = path.join(root, "node_modules/.bin/serverless");
  // serverless-esbuild stages each zip in a folder of the system's temp folder and leaves it there
  // (its removal is not recursive, and its failure ignored): about 200 MB a package. Give it a
  // temp folder of its own, removed here.
  const tmp = await mkdtemp(path.join(os.tmpdir(), "serverless-package-"));
  const result = spawnSync(serverlessBin, ["package", ...args], {
    cwd: root,
    stdio: "inherit",
    // its own bundle folder (deleted when done), never the one a running npm start serves from
    env: {
      ...process.env,
      SLS_TELEMETRY_DISABLED: "1",
      SLS_NOTIFICATIONS_MODE: "off",
      ESBUILD_WORK_FOLDER: path.join(".esbuild", "package"),
      TMPDIR: tmp,
    },
  });
  await rm(tmp, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`serverless package exited with ${result.status ?? result.signal}`);
  const dir = path.join(root, ".serverless");
  const artefacts = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".zip")).sort()) {
    const zipPath = path.join(dir, file);
    const { bytes, files } = await unzippedBytes(zipPath);
    artefacts.push({ name: file.replace(/\.zip$/, ""), zippedBytes: (await stat(zipPath)).size, unzippedBytes: bytes, files });
  }
  const layerZip = artefacts.find((a) => a.name === "runtime");
  if (!layerZip) throw new Error("serverless package produced no runtime layer zip");
  const functions = artefacts.filter((a) => a !== layerZip);
  const largest = Math.max(...functions.map((f) => f.unzippedBytes));
  return {
    artefacts,
    layerUnzippedBytes: layerZip.unzippedBytes,
    largestFunctionWithLayerBytes: largest + layerZip.unzippedBytes,
    limitBytes: LAMBDA_UNZIPPED_LIMIT,
    runtimes: await runtimesOf(root),
    layer,
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

if (require.main === module) {
  packageService(process.cwd(), process.argv.slice(2))
    .then(async (report) => {
      console.log("\n| artefact | files | zipped | unzipped |\n|---|---:|---:|---:|");
      for (const a of report.artefacts) console.log(`| ${a.name} | ${a.files} | ${mb(a.zippedBytes)} | ${mb(a.unzippedBytes)} |`);
      console.log(`\nlargest function + layer, unzipped: ${mb(report.largestFunctionWithLayerBytes)} (Lambda limit ${mb(report.limitBytes)})`);
      console.log(
        `runtime: ${report.runtimes.functions.join(", ")} on ${report.runtimes.architectures.join(", ")}; layer compatible with ${report.runtimes.layer.join(", ")}\n`,
      );
      console.log(nativeTable(report.layer));
      await writeFile(path.join(process.cwd(), ".serverless/size-report.json"), JSON.stringify(report, null, 2));
      if (report.largestFunctionWithLayerBytes > report.limitBytes) {
        console.error("over Lambda's unzipped size limit");
        process.exit(1);
      }
    })
    .catch((error: unknown) => {
      console.error("package failed:", error instanceof LayerError ? error.message : error);
      process.exit(1);
    });
}
