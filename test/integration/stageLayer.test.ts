import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { readElf } from "../../scripts/deploy/elf";
import { checkNativeFile, compareVersions } from "../../scripts/deploy/nativeCheck";
import { keepFile, LayerError, runtimeClosure, LAYER_ROOTS, stageLayer, type StageReport } from "../../scripts/deploy/stageLayer";
import { PROJECT_ROOT } from "../helpers/testStack";

const NODE_MODULES = path.join(PROJECT_ROOT, "node_modules");
const HNSW_ADDON = path.join(NODE_MODULES, "hnswlib-node/build/Release/addon.node");
const ORT_BINDING = path.join(NODE_MODULES, "onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node");

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"));
  }
  return out.sort();
}

function hasReadelf(): boolean {
  try {
    execFileSync("readelf", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A node_modules of symlinks to the real packages, with `replace` packages copied so a test can break them. */
async function fakeNodeModules(dir: string, replace: Record<string, (copy: string) => Promise<void>>): Promise<string> {
  const modules = path.join(dir, "node_modules");
  const names = [...(await runtimeClosure(NODE_MODULES, LAYER_ROOTS)), "@img/sharp-linux-x64", "@img/sharp-libvips-linux-x64"];
  for (const name of names) {
    const target = path.join(modules, name);
    await mkdir(path.dirname(target), { recursive: true });
    if (replace[name]) {
      await cp(path.join(NODE_MODULES, name), target, { recursive: true });
      await replace[name]!(target);
    } else await symlink(path.join(NODE_MODULES, name), target);
  }
  return modules;
}

describe("the ELF reader", () => {
  (hasReadelf() ? it : it.skip)("reads the same needed libraries and symbol versions as binutils' readelf", () => {
    for (const file of [HNSW_ADDON, ORT_BINDING]) {
      const elf = readElf(readFileSync(file));
      const dynamic = execFileSync("readelf", ["-d", file], { encoding: "utf8" });
      expect(elf.needed).toEqual([...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]));
      const versions = execFileSync("readelf", ["-V", file], { encoding: "utf8" });
      const needs = versions.slice(versions.indexOf("Version needs section"));
      const expected = [...needs.matchAll(/Name: (\S+)\s+Flags:/g)].map((m) => m[1]).sort();
      expect(elf.versionNeeds.flatMap((n) => n.versions).sort()).toEqual(expected);
      expect(elf.machine).toBe(62);
    }
  });

  it("compares dotted versions numerically", () => {
    expect(compareVersions("2.9", "2.34")).toBe(-1);
    expect(compareVersions("3.4.29", "3.4.29")).toBe(0);
    expect(compareVersions("3.4.30", "3.4.29")).toBe(1);
    expect(compareVersions("2.2.5", "2.2")).toBe(1);
  });

  it("names a macOS build, a 32-bit or foreign-architecture ELF", () => {
    const macho = Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]);
    expect(checkNativeFile(macho, "/x/addon.node", "x/addon.node").problems).toEqual([
      expect.stringMatching(/^x\/addon\.node is a macOS \(Mach-O\) binary, not a Linux ELF binary/),
    ]);
    const arm64 = Buffer.from(readFileSync(HNSW_ADDON));
    arm64.writeUInt16LE(183, 18); // e_machine = AArch64
    expect(checkNativeFile(arm64, HNSW_ADDON, "addon.node").problems).toEqual([expect.stringMatching(/machine 183 \(64-bit\), not x86-64/)]);
  });
});

describe("staging the layer", () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "stage-layer-"));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  let report: StageReport;
  let files: string[];
  it("stages the linux-x64 glibc builds and checks every native file against Lambda's glibc and libstdc++", async () => {
    const layerNodejs = path.join(work, "ok/nodejs");
    report = await stageLayer(PROJECT_ROOT, { layerNodejs });
    files = await filesUnder(path.join(layerNodejs, "node_modules"));
    expect(report.native.map((n) => n.file).sort()).toEqual([
      "@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.18.7",
      "@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node",
      "hnswlib-node/build/Release/addon.node",
      "onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1",
      "onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node",
    ]);
    for (const n of report.native) {
      expect(compareVersions(n.highest.GLIBC!, "2.34")).toBeLessThanOrEqual(0);
      expect(compareVersions(n.highest.GLIBCXX ?? "0", "3.4.29")).toBeLessThanOrEqual(0);
    }
    expect(report.platform).toEqual([
      { name: "@img/sharp-linux-x64", version: "0.35.5", source: "node_modules" },
      { name: "@img/sharp-libvips-linux-x64", version: "1.3.4", source: "node_modules" },
    ]);
    // and the staged folder really loads, from outside the project, as /opt/nodejs/node_modules does
    const out = execFileSync(process.execPath, ["-e", "require('onnxruntime-node');require('hnswlib-node');console.log(require('sharp').versions.vips)"], {
      cwd: os.tmpdir(),
      env: { PATH: process.env.PATH, NODE_PATH: path.join(layerNodejs, "node_modules") },
      encoding: "utf8",
    });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("leaves sources, headers, type declarations, maps, docs and build intermediates out, licences in", () => {
    expect(files.filter((f) => /\.(d\.[cm]?ts|ts|map|h|hpp|cc|cpp|c|gyp|gypi|mk|md)$/i.test(f) && !/LICENSE/i.test(f))).toEqual([]);
    expect(files.filter((f) => /(^|\/)(src|test|include|\.bin)\//.test(f) || /\/(Makefile|README[^/]*|CHANGELOG[^/]*)$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith("hnswlib-node/build/"))).toEqual(["hnswlib-node/build/Release/addon.node"]);
    expect(files.filter((f) => f.startsWith("onnxruntime-node/bin/")).every((f) => f.startsWith("onnxruntime-node/bin/napi-v6/linux/x64/"))).toBe(true);
    expect(files).toEqual(
      expect.arrayContaining(["sharp/LICENSE", "onnxruntime-node/package.json", "hnswlib-node/LICENSE.txt", "@img/sharp-linux-x64/LICENSE"]),
    );
    expect(keepFile("x", "lib/index.js")).toBe(true);
    expect(keepFile("x", "LICENSE.md")).toBe(true);
  });

  it("fetches sharp's linux-x64 packages from the npm registry when node_modules lacks them (as on a Mac)", async () => {
    const modules = await fakeNodeModules(path.join(work, "fetch"), {});
    await rm(path.join(modules, "@img/sharp-linux-x64"), { force: true });
    await rm(path.join(modules, "@img/sharp-libvips-linux-x64"), { force: true });
    const layerNodejs = path.join(work, "fetch/layer/nodejs");
    const fetched = await stageLayer(PROJECT_ROOT, { nodeModules: modules, layerNodejs });
    expect(fetched.platform.map((p) => p.source)).toEqual(["npm registry", "npm registry"]);
    const addon = "@img/sharp-linux-x64/lib/sharp-linux-x64-0.35.5.node";
    expect(Buffer.compare(await readFile(path.join(layerNodejs, "node_modules", addon)), await readFile(path.join(NODE_MODULES, addon)))).toBe(0);
    expect(existsSync(path.join(layerNodejs, "node_modules/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.18.7"))).toBe(true);
  }, 120_000);

  it("fails naming the file when a required native file is missing (hnswlib-node never built)", async () => {
    const modules = await fakeNodeModules(path.join(work, "missing"), {
      "hnswlib-node": (copy) => rm(path.join(copy, "build"), { recursive: true }),
    });
    const staging = stageLayer(PROJECT_ROOT, { nodeModules: modules, layerNodejs: path.join(work, "missing/layer/nodejs") });
    await expect(staging).rejects.toThrow(LayerError);
    await expect(staging).rejects.toThrow(
      /hnswlib-node's addon \(built by node-gyp at npm install\) is missing: no addon\.node in hnswlib-node\/build\/Release: .*package on Linux x86-64/,
    );
  });

  it("fails when a native file needs a newer GLIBC or GLIBCXX than Lambda's, or a library it cannot find", async () => {
    const modules = await fakeNodeModules(path.join(work, "newer"), {
      "hnswlib-node": async (copy) => {
        const file = path.join(copy, "build/Release/addon.node");
        // as if built on a newer system: same-length version strings in .dynstr
        const bytes = (await readFile(file)).toString("latin1").replace("GLIBC_2.29", "GLIBC_2.38").replace("GLIBCXX_3.4.29", "GLIBCXX_3.4.32");
        await writeFile(file, Buffer.from(bytes, "latin1"));
      },
      "onnxruntime-node": (copy) => rm(path.join(copy, "bin/napi-v6/linux/x64/libonnxruntime.so.1")),
    });
    const staging = stageLayer(PROJECT_ROOT, { nodeModules: modules, layerNodejs: path.join(work, "newer/layer/nodejs") });
    const error = await staging.then(
      () => null,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(LayerError);
    expect(error!.message).toMatch(
      /hnswlib-node\/build\/Release\/addon\.node needs GLIBC_2\.38, but Lambda nodejs22\.x x86_64 \(Amazon Linux 2023\) has at most GLIBC_2\.34/,
    );
    expect(error!.message).toMatch(/addon\.node needs GLIBCXX_3\.4\.32, but .* has at most GLIBCXX_3\.4\.29/);
    expect(error!.message).toMatch(/onnxruntime's linux\/x64 library is missing/);
    expect(error!.message).toMatch(
      /onnxruntime_binding\.node needs libonnxruntime\.so\.1, which is neither a system library .* nor found in the layer through its search path \(\$ORIGIN\/\)/,
    );
  });
});
