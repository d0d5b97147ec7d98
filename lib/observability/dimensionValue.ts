/**
 * An id as a CloudWatch dimension value, which must be printable ASCII with at least one
 * non-space character: ids are UTF-8 (lib/contract/fields.ts), so anything else is written as an
 * escape (`\xHH` below U+0100, `\u{H...}` above; a backslash as `\\`), which keeps two ids apart
 * and stays within the 1024 characters allowed (an id has at most 256 bytes).
 */
export function dimensionValue(id: string): string {
  let out = "";
  for (const char of id) {
    const code = char.codePointAt(0)!;
    if (char === "\\") out += "\\\\";
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (code < 0x100) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += `\\u{${code.toString(16)}}`;
  }
  return out.trim() === "" ? out.replaceAll(" ", "\\x20") : out;
}
