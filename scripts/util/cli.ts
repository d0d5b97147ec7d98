/** The value after `--name` in `args`, if any. */
export function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The first argument that is neither a --flag nor the value of one of `valueFlags`. */
export function positional(args: readonly string[], valueFlags: readonly string[]): string | undefined {
  return args.find((a, i) => !a.startsWith("--") && !valueFlags.includes(args[i - 1] ?? ""));
}
