/** The value after `--name` in `args`, if any. */
export function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The first argument that is neither a --flag nor the value of one of `valueFlags`. */
export function positional(args: readonly string[], valueFlags: readonly string[]): string | undefined {
  return args.find((a, i) => !a.startsWith("--") && !valueFlags.includes(args[i - 1] ?? ""));
}

/** multipart/form-data of text fields and image files, as fetch sends it. */
export function imageForm(fields: Record<string, string>, files: readonly { field: string; name: string; data: Buffer }[]): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const f of files) form.append(f.field, new Blob([f.data], { type: /\.png$/i.test(f.name) ? "image/png" : "image/jpeg" }), f.name);
  return form;
}
