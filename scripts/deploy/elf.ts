/**
 * Just enough of an ELF reader to vet a native binary for Lambda: its class, byte order and
 * machine, the shared libraries it needs (DT_NEEDED), where it looks for them (DT_RUNPATH /
 * DT_RPATH) and the symbol versions it needs from each (.gnu.version_r, what `readelf -V`
 * prints under "Version needs section"). No dependency on binutils, so packaging works anywhere.
 */

export const EM_X86_64 = 62;

export interface ElfVersionNeed {
  /** The library the versions come from, e.g. libc.so.6. */
  readonly file: string;
  /** e.g. GLIBC_2.14, GLIBCXX_3.4.29. */
  readonly versions: readonly string[];
}

export interface ElfInfo {
  readonly is64: boolean;
  readonly littleEndian: boolean;
  /** e_machine: 62 = x86-64, 183 = AArch64. */
  readonly machine: number;
  readonly needed: readonly string[];
  /** DT_RUNPATH, else DT_RPATH, split on ':' ($ORIGIN left as is). */
  readonly searchPaths: readonly string[];
  readonly versionNeeds: readonly ElfVersionNeed[];
}

const SHT_DYNAMIC = 6;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NEEDED = 1n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/** What a non-ELF native file is, for messages (a macOS or Windows build packed by mistake). */
export function describeBinary(bytes: Uint8Array): string {
  if (isElf(bytes)) return "ELF";
  const magic = Buffer.from(bytes.subarray(0, 4)).readUInt32BE(0);
  if ([0xcffaedfe, 0xcefaedfe, 0xfeedfacf, 0xfeedface, 0xcafebabe].includes(magic)) return "a macOS (Mach-O) binary";
  if (bytes[0] === 0x4d && bytes[1] === 0x5a) return "a Windows (PE) binary";
  return "not a binary";
}

function cString(bytes: Buffer, offset: number): string {
  const end = bytes.indexOf(0, offset);
  return bytes.toString("latin1", offset, end < 0 ? bytes.length : end);
}

/**
 * Reads a 64-bit little-endian ELF file (the only kind Lambda x86_64 runs). Other classes or
 * byte orders are reported by their header fields only (is64, littleEndian, machine), with no
 * dynamic section read, so the caller can say what the file is.
 */
export function readElf(input: Uint8Array): ElfInfo {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (!isElf(bytes)) throw new Error(`not an ELF file (${describeBinary(bytes)})`);
  const is64 = bytes[4] === 2;
  const littleEndian = bytes[5] === 1;
  const machine = littleEndian ? bytes.readUInt16LE(18) : bytes.readUInt16BE(18);
  if (!is64 || !littleEndian) return { is64, littleEndian, machine, needed: [], searchPaths: [], versionNeeds: [] };

  const shoff = Number(bytes.readBigUInt64LE(0x28));
  const shentsize = bytes.readUInt16LE(0x3a);
  const shnum = bytes.readUInt16LE(0x3c);
  const sections = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      type: bytes.readUInt32LE(at + 4),
      offset: Number(bytes.readBigUInt64LE(at + 24)),
      size: Number(bytes.readBigUInt64LE(at + 32)),
      link: bytes.readUInt32LE(at + 40),
      info: bytes.readUInt32LE(at + 44),
    };
  });
  const stringAt = (tableIndex: number, offset: number) => cString(bytes, sections[tableIndex]!.offset + offset);

  const needed: string[] = [];
  let runpath: string | undefined;
  let rpath: string | undefined;
  for (const section of sections.filter((s) => s.type === SHT_DYNAMIC)) {
    for (let at = section.offset; at + 16 <= section.offset + section.size; at += 16) {
      const tag = bytes.readBigInt64LE(at);
      if (tag === 0n) break; // DT_NULL
      const value = Number(bytes.readBigUInt64LE(at + 8));
      if (tag === DT_NEEDED) needed.push(stringAt(section.link, value));
      else if (tag === DT_RUNPATH) runpath = stringAt(section.link, value);
      else if (tag === DT_RPATH) rpath = stringAt(section.link, value);
    }
  }

  const versionNeeds: ElfVersionNeed[] = [];
  for (const section of sections.filter((s) => s.type === SHT_GNU_VERNEED)) {
    let entry = section.offset;
    for (let n = 0; n < section.info; n++) {
      const count = bytes.readUInt16LE(entry + 2);
      const file = stringAt(section.link, bytes.readUInt32LE(entry + 4));
      const versions: string[] = [];
      let aux = entry + bytes.readUInt32LE(entry + 8);
      for (let k = 0; k < count; k++) {
        versions.push(stringAt(section.link, bytes.readUInt32LE(aux + 8)));
        const next = bytes.readUInt32LE(aux + 12);
        if (next === 0) break;
        aux += next;
      }
      versionNeeds.push({ file, versions });
      const next = bytes.readUInt32LE(entry + 12);
      if (next === 0) break;
      entry += next;
    }
  }
  const searchPaths = (runpath ?? rpath ?? "").split(":").filter((p) => p !== "");
  return { is64, littleEndian, machine, needed, searchPaths, versionNeeds };
}
