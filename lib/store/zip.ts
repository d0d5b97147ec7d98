import zlib from "node:zlib";

/**
 * The part of ZIP that .npz files use: numpy's savez writes stored entries (savez_compressed:
 * deflated), with ZIP64 extra fields. Written by hand because the format is tiny and the npm zip
 * libraries either stream to disk or pull in many dependencies; entries here are in memory.
 */
export interface ZipEntry {
  readonly name: string;
  readonly data: Uint8Array;
}

export class ZipFormatError extends Error {
  constructor(message: string) {
    super(`Not a valid .npz/zip archive: ${message}`);
    this.name = "ZipFormatError";
  }
}

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const END64_LOCATOR = 0x07064b50;
// 1980-01-01 00:00: a fixed timestamp keeps archives byte-identical for the same content
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** A stored (uncompressed) ZIP of `entries`; each under 4 GB. */
export function writeZip(entries: readonly ZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, "utf8");
    const crc = zlib.crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(entry.data.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    parts.push(local, name, Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength));
    const record = Buffer.alloc(46);
    record.writeUInt32LE(CENTRAL, 0);
    record.writeUInt16LE(20, 4); // version made by
    record.writeUInt16LE(20, 6);
    record.writeUInt16LE(0x0800, 8);
    record.writeUInt16LE(0, 10);
    record.writeUInt16LE(DOS_TIME, 12);
    record.writeUInt16LE(DOS_DATE, 14);
    record.writeUInt32LE(crc, 16);
    record.writeUInt32LE(entry.data.length, 20);
    record.writeUInt32LE(entry.data.length, 24);
    record.writeUInt16LE(name.length, 28);
    record.writeUInt32LE(offset, 42);
    central.push(record, name);
    offset += 30 + name.length + entry.data.length;
  }
  const centralSize = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

/** One entry of a ZIP's central directory, with where its data starts. */
export interface ZipDirectoryEntry {
  readonly name: string;
  /** 0 stored, 8 deflate. */
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly dataOffset: number;
}

/** The central directory of a ZIP (ZIP64 or not): names, sizes and data offsets, nothing decompressed. */
export function zipDirectory(bytes: Uint8Array): ZipDirectoryEntry[] {
  const zip = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === END) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new ZipFormatError("no end of central directory");
  let count = zip.readUInt16LE(end + 10);
  let directory = zip.readUInt32LE(end + 16);
  if (count === 0xffff || directory === 0xffffffff) {
    const locator = end - 20;
    if (locator < 0 || zip.readUInt32LE(locator) !== END64_LOCATOR) throw new ZipFormatError("ZIP64 locator missing");
    const end64 = Number(zip.readBigUInt64LE(locator + 8));
    if (zip.readUInt32LE(end64) !== END64) throw new ZipFormatError("ZIP64 end record missing");
    count = Number(zip.readBigUInt64LE(end64 + 32));
    directory = Number(zip.readBigUInt64LE(end64 + 48));
  }
  const entries: ZipDirectoryEntry[] = [];
  let p = directory;
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== CENTRAL) throw new ZipFormatError(`central directory entry ${n} is corrupt`);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    let compressedSize = zip.readUInt32LE(p + 20);
    let size = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    let localOffset = zip.readUInt32LE(p + 42);
    const name = zip.toString("utf8", p + 46, p + 46 + nameLength);
    // ZIP64 extended information: the 0xffffffff fields, in order, as 8-byte values
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength;) {
      const id = zip.readUInt16LE(e);
      const length = zip.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) {
          size = Number(zip.readBigUInt64LE(q));
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = Number(zip.readBigUInt64LE(q));
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = Number(zip.readBigUInt64LE(q));
      }
      e += 4 + length;
    }
    if (localOffset + 30 > zip.length || zip.readUInt32LE(localOffset) !== LOCAL) throw new ZipFormatError(`local header of ${name} is corrupt`);
    const dataOffset = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    entries.push({ name, method, crc, compressedSize, size, dataOffset });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Entries of a ZIP (stored or deflated, ZIP64 or not), CRC-checked. */
export function readZip(bytes: Uint8Array): ZipEntry[] {
  const zip = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return zipDirectory(bytes).map(({ name, method, crc, compressedSize, size, dataOffset }) => {
    if (dataOffset + compressedSize > zip.length) throw new ZipFormatError(`${name} is truncated`);
    const raw = zip.subarray(dataOffset, dataOffset + compressedSize);
    let data: Buffer;
    if (method === 0) data = raw;
    else if (method === 8) data = zlib.inflateRawSync(raw);
    else throw new ZipFormatError(`${name} uses compression method ${method} (only stored and deflate are read)`);
    if (data.length !== size) throw new ZipFormatError(`${name} is ${data.length} bytes, its header says ${size}`);
    if (zlib.crc32(data) !== crc) throw new ZipFormatError(`${name} fails its CRC check`);
    return { name, data };
  });
}
