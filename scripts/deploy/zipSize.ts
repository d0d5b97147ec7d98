import { readFile } from "node:fs/promises";
import { zipDirectory } from "../../lib/store/zip";

/** Uncompressed size of a .zip, summed from its central directory (what Lambda counts against its 250 MB unzipped limit). */
export async function unzippedBytes(zipPath: string): Promise<{ files: number; bytes: number }> {
  const entries = zipDirectory(await readFile(zipPath));
  return { files: entries.length, bytes: entries.reduce((sum, entry) => sum + entry.size, 0) };
}
