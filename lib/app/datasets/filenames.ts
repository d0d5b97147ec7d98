import { randomBytes } from "node:crypto";

const EXTENSIONS: Record<string, string> = { png: ".png", jpeg: ".jpg" };

/**
 * A stored file's name: the upload time as the old backend wrote it (YYYYMMDD-HHMMSS-ffffff, UTC),
 * then 12 random hex digits so that uploads in the same microsecond never collide, then the
 * extension of the image's real format. Never the client's name or path (kept in the meta).
 */
export function storedFilename(format: string, now = new Date()): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const stamp =
    `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}-` +
    `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}-${pad(now.getUTCMilliseconds() * 1000, 6)}`;
  return `${stamp}-${randomBytes(6).toString("hex")}${EXTENSIONS[format] ?? ".png"}`;
}
