import { readFile } from "node:fs/promises";

/**
 * Uncompressed size of a .zip, summed from its central directory (what Lambda counts against
 * its 250 MB unzipped limit). Reads the End Of Central Directory record; no ZIP64 needed below 4 GB.
 */
export async function unzippedBytes(zipPath: string): Promise<{ files: number; bytes: number }> {
  const zip = await readFile(zipPath);
  const eocdSignature = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === eocdSignature) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${zipPath}: not a zip file (no end of central directory)`);
  const entries = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  let bytes = 0;
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${zipPath}: corrupt central directory at entry ${n}`);
    bytes += zip.readUInt32LE(offset + 24);
    offset += 46 + zip.readUInt16LE(offset + 28) + zip.readUInt16LE(offset + 30) + zip.readUInt16LE(offset + 32);
  }
  return { files: entries, bytes };
}
