import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { ImageFile } from "../../lib/contract/client";
import { CliError, EXIT } from "./exitCodes";

const IMAGE = /\.(png|jpe?g)$/i;

/** The PNG/JPEG files of `target` (a file, or a folder's files sorted by name, not recursive). */
export async function imagePaths(target: string): Promise<string[]> {
  const info = await stat(target).catch(() => null);
  if (!info) throw new CliError(`${target}: no such file or folder`, EXIT.USAGE);
  if (info.isFile()) return [target];
  const names = (await readdir(target)).filter((n) => IMAGE.test(n)).sort();
  if (names.length === 0) throw new CliError(`${target}: no .png/.jpg/.jpeg file in it`, EXIT.USAGE);
  return names.map((n) => path.join(target, n));
}

export async function imageFile(file: string): Promise<ImageFile> {
  return { filename: path.basename(file), data: await readFile(file), type: /\.png$/i.test(file) ? "image/png" : "image/jpeg" };
}
