/**
 * Fills layers/runtime/nodejs/node_modules with the native addons and their runtime
 * dependencies for Lambda (linux x64, glibc): what Lambda mounts at /opt/nodejs/node_modules.
 * Usage: tsx scripts/deploy/stageLayer.ts
 */
import { cp, mkdir, readFile, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";

export const LAYER_ROOTS = ["onnxruntime-node", "sharp", "hnswlib-node"] as const;

/** Dependencies a package declares that only its install or build step uses. */
const INSTALL_ONLY: Record<string, readonly string[]> = {
  "onnxruntime-node": ["adm-zip", "global-agent"], // downloads CUDA binaries at install
  "hnswlib-node": ["node-addon-api"], // C++ headers for node-gyp
};

/** Platform packages (sharp's @img/*) and binaries kept: Lambda x86_64 is linux, glibc. */
const PLATFORM = /(?:^|[-/])(?:darwin|win32|freebsd|wasm32|musl|arm64|arm|s390x|ppc64|riscv64)(?:[-/]|$)/;

/** Inside a copied package: sources, build intermediates and other platforms' binaries. */
function keepFile(packageName: string, relative: string): boolean {
  if (packageName === "onnxruntime-node") {
    if (relative.startsWith("bin/") && relative.split("/").length > 3 && !relative.startsWith("bin/napi-v6/linux/x64")) return false;
    if (relative.startsWith("lib/") || relative.startsWith("script/") || relative.endsWith(".map")) return false;
  }
  if (packageName === "hnswlib-node") {
    if (relative.startsWith("src") || relative.startsWith("build/Release/obj.target") || relative.startsWith("build/Release/.deps")) return false;
  }
  return true;
}

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

async function readPackage(dir: string): Promise<PackageJson> {
  return JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as PackageJson;
}

/** Package folders (top-level node_modules) needed at run time by `roots`. */
export async function runtimeClosure(nodeModules: string, roots: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    const dir = path.join(nodeModules, name);
    if (!existsSync(dir)) throw new Error(`layer: ${name} is not installed in ${nodeModules}`);
    seen.add(name);
    const pkg = await readPackage(dir);
    const skip = INSTALL_ONLY[name] ?? [];
    for (const dep of Object.keys(pkg.dependencies ?? {})) if (!skip.includes(dep)) queue.push(dep);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
      if (!PLATFORM.test(dep) && existsSync(path.join(nodeModules, dep))) queue.push(dep);
    }
  }
  return [...seen].sort();
}

export async function stageLayer(projectRoot: string): Promise<string[]> {
  const nodeModules = path.join(projectRoot, "node_modules");
  const target = path.join(projectRoot, "layers/runtime/nodejs/node_modules");
  await rm(path.join(projectRoot, "layers/runtime/nodejs"), { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  const packages = await runtimeClosure(nodeModules, LAYER_ROOTS);
  for (const name of packages) {
    const from = path.join(nodeModules, name);
    await cp(from, path.join(target, name), {
      recursive: true,
      filter: (source) => keepFile(name, path.relative(from, source).split(path.sep).join("/")),
    });
  }
  return packages;
}

if (require.main === module) {
  stageLayer(process.cwd())
    .then((packages) => console.log(`layer: staged ${packages.length} packages: ${packages.join(", ")}`))
    .catch((error: unknown) => {
      console.error("layer: staging failed:", error);
      process.exit(1);
    });
}
