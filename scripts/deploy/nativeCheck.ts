/**
 * The layer's native binaries against what Lambda's nodejs22.x x86_64 runtime offers (Amazon
 * Linux 2023): each must be an x86-64 ELF, need at most GLIBC 2.34 / GLIBCXX 3.4.29 /
 * CXXABI 1.3.13 (glibc 2.34 and GCC 11's libstdc++, AL2023's), and find every library it needs
 * either among the system's or inside the layer through its RUNPATH/RPATH.
 */
import { open, readdir, readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { describeBinary, EM_X86_64, isElf, readElf } from "./elf";

export const LAMBDA_NATIVE_TARGET = {
  name: "Lambda nodejs22.x x86_64 (Amazon Linux 2023)",
  /** Highest symbol version of each system library family that AL2023 provides. */
  maxVersions: { GLIBC: "2.34", GLIBCXX: "3.4.29", CXXABI: "1.3.13" } as Record<VersionFamily, string>,
  /** Libraries of the base image a layer binary may rely on. */
  systemLibraries: [
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libresolv.so.2",
    "libstdc++.so.6",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
  ],
} as const;

export type VersionFamily = "GLIBC" | "GLIBCXX" | "CXXABI";
const FAMILIES: readonly VersionFamily[] = ["GLIBC", "GLIBCXX", "CXXABI"];

export interface NativeFileReport {
  /** Relative to the checked folder. */
  readonly file: string;
  readonly bytes: number;
  /** The highest version needed of each family (null: none needed). */
  readonly highest: Record<VersionFamily, string | null>;
  readonly needed: readonly string[];
}

export interface NativeCheck {
  readonly files: readonly NativeFileReport[];
  /** One sentence per problem, naming the file; empty when the layer can run on Lambda. */
  readonly problems: readonly string[];
}

/** -1, 0, 1 comparing dotted version numbers ("2.9" < "2.34"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function familyOf(version: string): { family: VersionFamily; number: string } | null {
  const match = /^(GLIBCXX|GLIBC|CXXABI)_(\d+(?:\.\d+)*)$/.exec(version);
  return match ? { family: match[1] as VersionFamily, number: match[2]! } : null;
}

/** Checks one native file (its bytes, its absolute path for $ORIGIN, its name for messages). */
export function checkNativeFile(bytes: Uint8Array, absolutePath: string, name: string): { report: NativeFileReport; problems: string[] } {
  const problems: string[] = [];
  const highest: Record<VersionFamily, string | null> = { GLIBC: null, GLIBCXX: null, CXXABI: null };
  const empty = { file: name, bytes: bytes.length, highest, needed: [] };
  if (!isElf(bytes)) {
    problems.push(`${name} is ${describeBinary(bytes)}, not a Linux ELF binary: it was built for another system than ${LAMBDA_NATIVE_TARGET.name}`);
    return { report: empty, problems };
  }
  const elf = readElf(bytes);
  if (!elf.is64 || !elf.littleEndian || elf.machine !== EM_X86_64) {
    problems.push(
      `${name} is an ELF binary for machine ${elf.machine} (${elf.is64 ? 64 : 32}-bit), not x86-64: it cannot load on ${LAMBDA_NATIVE_TARGET.name}`,
    );
    return { report: empty, problems };
  }
  for (const need of elf.versionNeeds) {
    for (const version of need.versions) {
      const parsed = familyOf(version);
      if (!parsed) continue;
      const current = highest[parsed.family];
      if (current === null || compareVersions(parsed.number, current) > 0) highest[parsed.family] = parsed.number;
    }
  }
  for (const family of FAMILIES) {
    const max = LAMBDA_NATIVE_TARGET.maxVersions[family];
    const needs = highest[family];
    if (needs !== null && compareVersions(needs, max) > 0) {
      problems.push(
        `${name} needs ${family}_${needs}, but ${LAMBDA_NATIVE_TARGET.name} has at most ${family}_${max}: ` +
          `build it on a system no newer than that (e.g. in an Amazon Linux 2023 container) or use a prebuilt binary made for it`,
      );
    }
  }
  const origin = path.dirname(absolutePath);
  for (const library of elf.needed) {
    if ((LAMBDA_NATIVE_TARGET.systemLibraries as readonly string[]).includes(library)) continue;
    const dirs = elf.searchPaths.filter((p) => p.includes("$ORIGIN")).map((p) => p.replaceAll("${ORIGIN}", origin).replaceAll("$ORIGIN", origin));
    if (!dirs.some((dir) => existsSync(path.join(dir, library)))) {
      problems.push(
        `${name} needs ${library}, which is neither a system library of ${LAMBDA_NATIVE_TARGET.name} nor found in the layer through its search path (${elf.searchPaths.join(":") || "none"})`,
      );
    }
  }
  return { report: { file: name, bytes: bytes.length, highest, needed: elf.needed }, problems };
}

/** Shared objects and Node addons, by name: what the dynamic loader would map. */
export function isNativeName(file: string): boolean {
  return /\.node$|\.so(?:\.\d+)*$/.test(file);
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** Every native file under `root` (by name, or by ELF magic for extension-less ones) checked. */
export async function checkNativeTree(root: string): Promise<NativeCheck> {
  const files: NativeFileReport[] = [];
  const problems: string[] = [];
  for (const file of (await walk(root)).sort()) {
    const name = path.relative(root, file).split(path.sep).join("/");
    let bytes: Buffer | undefined;
    if (isNativeName(file)) bytes = await readFile(file);
    else {
      const handle = await open(file, "r");
      const head = Buffer.alloc(4);
      await handle.read(head, 0, 4, 0).finally(() => handle.close());
      if (isElf(head)) bytes = await readFile(file);
    }
    if (!bytes) continue;
    const checked = checkNativeFile(bytes, file, name);
    files.push(checked.report);
    problems.push(...checked.problems);
  }
  return { files, problems };
}
