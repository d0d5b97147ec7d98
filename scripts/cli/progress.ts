import { SingleBar, Presets } from "cli-progress";

/**
 * A progress bar on stderr (stdout stays for results): cli-progress, which redraws in place on
 * a terminal and prints nothing on a non-TTY stream (logs, CI) unless forced.
 */
export function progressBar(
  label: string,
  total: number,
  enabled = process.stderr.isTTY === true,
): { update(done: number, note?: string): void; stop(): void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {note}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
    Presets.shades_classic,
  );
  bar.start(total, 0, { note: "" });
  return {
    update: (done, note = "") => bar.update(done, { note }),
    stop: () => bar.stop(),
  };
}
