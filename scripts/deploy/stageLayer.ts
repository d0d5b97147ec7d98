/**
 * Fills layers/runtime/nodejs/node_modules with the native addons and their runtime
 * dependencies for Lambda x86_64 (linux, glibc): what Lambda mounts at /opt/nodejs/node_modules.
 *
 * Whatever machine packs it, the layer gets the linux-x64 glibc builds: sharp's platform
 * packages (@img/sharp-linux-x64, @img/sharp-libvips-linux-x64) are taken from node_modules when
 * installed there at the version sharp pins, else fetched from the npm registry with `npm pack`;
 * onnxruntime-node ships every platform's binary and keeps only linux/x64's; hnswlib-node's addon
 * is compiled at install, so it must have been built on Linux x86-64. Then every native file is
 * checked (scripts/deploy/nativeCheck.ts: x86-64 ELF, at most GLIBC 2.34 / GLIBCXX 3.4.29, its
 * libraries found) and staging fails naming each problem. Sources, headers, type declarations,
 * source maps, docs and build intermediates stay out of the layer.
 * Usage: tsx scripts/deploy/stageLayer.ts
 */
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { checkNativeTree, LAMBDA_NATIVE_TARGET, type NativeFileReport } from "./nativeCheck";

export const LAYER_ROOTS = ["onnxruntime-node", "sharp", "hnswlib-node"] as const;

/** Dependencies a package declares that only its install or build step uses. */
const INSTALL_ONLY: Record<string, readonly string[]> = {
  "onnxruntime-node": ["adm-zip", "global-agent"], // downloads CUDA binaries at install
  "hnswlib-node": ["node-addon-api"], // C++ headers for node-gyp
};

/**
 * Platform packages staged explicitly for Lambda x86_64 (linux, glibc), at the exact version the
 * package that loads them pins in its optionalDependencies.
 */
export const LINUX_X64_PACKAGES: Record<string, readonly string[]> = {
  sharp: ["@img/sharp-linux-x64", "@img/sharp-libvips-linux-x64"],
};

/** Native files the layer cannot work without (a glob-free prefix + suffix per file). */
export const REQUIRED_NATIVE_FILES: readonly { readonly dir: string; readonly pattern: RegExp; readonly what: string }[] = [
  { dir: "onnxruntime-node/bin/napi-v6/linux/x64", pattern: /^onnxruntime_binding\.node$/, what: "onnxruntime-node's linux/x64 addon" },
  { dir: "onnxruntime-node/bin/napi-v6/linux/x64", pattern: /^libonnxruntime\.so\.\d+$/, what: "onnxruntime's linux/x64 library" },
  { dir: "@img/sharp-linux-x64/lib", pattern: /^sharp-linux-x64-[\d.]+\.node$/, what: "sharp's linux-x64 addon" },
  { dir: "@img/sharp-libvips-linux-x64/lib", pattern: /^libvips-cpp\.so\.[\d.]+$/, what: "libvips for linux-x64" },
  { dir: "hnswlib-node/build/Release", pattern: /^addon\.node$/, what: "hnswlib-node's addon (built by node-gyp at npm install)" },
];

/** Optional dependencies that are some platform's build: never followed (the linux-x64 ones come from LINUX_X64_PACKAGES). */
const PLATFORM = /(?:^|[-/])(?:darwin|win32|freebsd|wasm32|webcontainers|linux|linuxmusl|musl|arm64|arm|x64|ia32|s390x|ppc64|riscv64)(?:[-/]|$)/;

/** Not needed at run time: sources, headers, type declarations, maps, docs, build intermediates, tests. */
const NOT_RUNTIME_FILE =
  /(?:\.d\.[cm]?ts|\.ts|\.map|\.h|\.hh|\.hpp|\.c|\.cc|\.cpp|\.cxx|\.gyp|\.gypi|\.mk|\.md|\.markdown|\.bnf|\.npmignore|\.travis\.yml|\.editorconfig|\.eslintrc(?:\.\w+)?|Makefile)$/i;
const NOT_RUNTIME_DIR = /^(?:test|tests|__tests__|example|examples|docs|\.github|\.bin|src|include)$/;
/** Licence texts stay, whatever their extension. */
const LICENCE = /^(?:licen[cs]e|notice|copying)(?:[.-]\w+)*$/i;

/** Inside a copied package: what Lambda never loads. */
export function keepFile(packageName: string, relative: string): boolean {
  if (relative === "") return true;
  const parts = relative.split("/");
  const base = parts[parts.length - 1]!;
  if (LICENCE.test(base)) return true;
  // called for folders too: a folder named like test/ or src/ is left out with all it holds
  if (parts.some((part) => NOT_RUNTIME_DIR.test(part))) return false;
  if (NOT_RUNTIME_FILE.test(base) || /^(?:readme|changelog|history)(?:\.\w+)?$/i.test(base)) return false;
  if (packageName === "onnxruntime-node") {
    // every platform's binaries ship in bin/napi-v6/<platform>/<arch>: linux/x64 only
    if (relative.startsWith("bin/") && parts.length > 3 && !relative.startsWith("bin/napi-v6/linux/x64")) return false;
    if (relative.startsWith("lib/") || relative.startsWith("script/")) return false; // TypeScript sources, install scripts
  }
  if (packageName === "hnswlib-node" && relative.startsWith("build/")) {
    // the compiled addon, not node-gyp's intermediates
    return relative === "build" || relative === "build/Release" || /^build\/Release\/[^/]+\.node$/.test(relative);
  }
  if (packageName === "sharp" && (relative === "install" || relative.startsWith("install/"))) return false; // install-time build helper
  return true;
}

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

async function readPackage(dir: string): Promise<PackageJson> {
  return JSON.parse(await readFile(path.join(dir, "package.json"), "utf8")) as PackageJson;
}

/** Package folders (top-level node_modules) needed at run time by `roots`, platform builds excluded. */
export async function runtimeClosure(nodeModules: string, roots: readonly string[]): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    const dir = path.join(nodeModules, name);
    if (!existsSync(dir)) throw new Error(`layer: ${name} is not installed in ${nodeModules}: run npm ci first`);
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

/** The explicit linux-x64 platform packages and the version each must have. */
export async function platformPackages(nodeModules: string): Promise<{ name: string; version: string; for: string }[]> {
  const out = [];
  for (const [owner, names] of Object.entries(LINUX_X64_PACKAGES)) {
    const pkg = await readPackage(path.join(nodeModules, owner));
    for (const name of names) {
      const version = pkg.optionalDependencies?.[name] ?? pkg.dependencies?.[name];
      if (!version || !/^\d+\.\d+\.\d+/.test(version))
        throw new Error(`layer: ${owner} ${pkg.version} does not pin ${name} to an exact version (found ${JSON.stringify(version)})`);
      out.push({ name, version, for: owner });
    }
  }
  return out;
}

/** A package tarball from the npm registry (npm's own client, its cache and integrity check), unpacked into `into`. */
export function fetchPackage(name: string, version: string, into: string, cacheDir: string): void {
  const spec = `${name}@${version}`;
  let file: string;
  try {
    const out = execFileSync("npm", ["pack", spec, "--pack-destination", cacheDir, "--json", "--silent"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    file = (JSON.parse(out) as { filename: string }[])[0]!.filename;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(
      `layer: ${spec} is not installed here and could not be fetched from the npm registry (npm pack: ${stderr.trim().split("\n").slice(-2).join(" ")})`,
      { cause: error },
    );
  }
  execFileSync("mkdir", ["-p", into]);
  execFileSync("tar", ["xzf", path.join(cacheDir, file), "-C", into, "--strip-components=1"]);
}

export interface StageOptions {
  /** Where the packages come from (default <projectRoot>/node_modules). */
  readonly nodeModules?: string;
  /** The layer's nodejs/ folder (default <projectRoot>/layers/runtime/nodejs). */
  readonly layerNodejs?: string;
  /** Fetch the linux-x64 platform packages from the registry even when node_modules has them. */
  readonly alwaysFetchPlatformPackages?: boolean;
}

export interface StageReport {
  readonly packages: readonly string[];
  /** Each explicit platform package and where it came from. */
  readonly platform: readonly { name: string; version: string; source: "node_modules" | "npm registry" }[];
  readonly native: readonly NativeFileReport[];
}

export class LayerError extends Error {}

export async function stageLayer(projectRoot: string, options: StageOptions = {}): Promise<StageReport> {
  const nodeModules = options.nodeModules ?? path.join(projectRoot, "node_modules");
  const layerNodejs = options.layerNodejs ?? path.join(projectRoot, "layers/runtime/nodejs");
  const target = path.join(layerNodejs, "node_modules");
  await rm(layerNodejs, { recursive: true, force: true });
  await mkdir(target, { recursive: true });

  const packages = await runtimeClosure(nodeModules, LAYER_ROOTS);
  for (const name of packages) {
    const from = path.join(nodeModules, name);
    await cp(from, path.join(target, name), {
      recursive: true,
      filter: (source) => keepFile(name, path.relative(from, source).split(path.sep).join("/")),
    });
  }

  const platform: StageReport["platform"][number][] = [];
  let cacheDir: string | undefined;
  for (const { name, version } of await platformPackages(nodeModules)) {
    const installed = path.join(nodeModules, name);
    const installedVersion = existsSync(path.join(installed, "package.json")) ? (await readPackage(installed)).version : null;
    const into = path.join(target, name);
    if (installedVersion === version && !options.alwaysFetchPlatformPackages) {
      await cp(installed, into, { recursive: true, filter: (source) => keepFile(name, path.relative(installed, source).split(path.sep).join("/")) });
      platform.push({ name, version, source: "node_modules" });
    } else {
      cacheDir ??= await mkdtemp(path.join(os.tmpdir(), "layer-packages-"));
      const unpacked = path.join(cacheDir, name.replace("/", "+"));
      fetchPackage(name, version, unpacked, cacheDir);
      await cp(unpacked, into, { recursive: true, filter: (source) => keepFile(name, path.relative(unpacked, source).split(path.sep).join("/")) });
      platform.push({ name, version, source: "npm registry" });
    }
  }
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  packages.push(...platform.map((p) => p.name));

  const problems: string[] = [];
  for (const required of REQUIRED_NATIVE_FILES) {
    const dir = path.join(target, required.dir);
    const found = existsSync(dir) && readdirSync(dir).some((f) => required.pattern.test(f));
    if (!found) {
      const hint = required.dir.startsWith("hnswlib-node")
        ? `: npm ci builds it with node-gyp, so package on Linux x86-64 (glibc <= ${LAMBDA_NATIVE_TARGET.maxVersions.GLIBC}) with a C++ compiler, e.g. in an Amazon Linux 2023 container`
        : "";
      problems.push(`${required.what} is missing: no ${required.pattern.source.replace(/\\/g, "").replace(/^\^|\$$/g, "")} in ${required.dir}${hint}`);
    }
  }
  const native = await checkNativeTree(target);
  problems.push(...native.problems);
  if (problems.length > 0) {
    throw new LayerError(
      `layer: ${problems.length} problem(s) with the native binaries for ${LAMBDA_NATIVE_TARGET.name}:\n` + problems.map((p) => `  - ${p}`).join("\n"),
    );
  }
  return { packages: packages.sort(), platform, native: native.files };
}

/** The native-binary check as a table, for `npm run package`. */
export function nativeTable(report: StageReport): string {
  const lines = [
    `Native binaries in the layer, checked for ${LAMBDA_NATIVE_TARGET.name} (max GLIBC ${LAMBDA_NATIVE_TARGET.maxVersions.GLIBC}, GLIBCXX ${LAMBDA_NATIVE_TARGET.maxVersions.GLIBCXX}, CXXABI ${LAMBDA_NATIVE_TARGET.maxVersions.CXXABI}):`,
    "",
    "| file | size | GLIBC | GLIBCXX | CXXABI |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const f of report.native)
    lines.push(
      `| ${f.file} | ${(f.bytes / 1024 / 1024).toFixed(1)} MB | ${f.highest.GLIBC ?? "-"} | ${f.highest.GLIBCXX ?? "-"} | ${f.highest.CXXABI ?? "-"} |`,
    );
  lines.push("", `Platform packages: ${report.platform.map((p) => `${p.name}@${p.version} (${p.source})`).join(", ")}`);
  return lines.join("\n");
}

if (require.main === module) {
  stageLayer(process.cwd())
    .then((report) => {
      console.log(`layer: staged ${report.packages.length} packages: ${report.packages.join(", ")}`);
      console.log(nativeTable(report));
    })
    .catch((error: unknown) => {
      console.error(error instanceof LayerError ? error.message : error);
      process.exit(1);
    });
}
