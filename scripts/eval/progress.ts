/**
 * One progress line on stderr, rewritten in place on a terminal ("label [#####.....] 40/97");
 * elsewhere (a log file, CI) one plain line per quarter. No library: none is installed, and a
 * line is all the evaluation needs.
 */
export class ProgressLine {
  private lastQuarter = -1;
  private shown = false;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, note = ""): void {
    if (this.stream.isTTY) {
      const width = 30;
      const filled = total > 0 ? Math.round((width * done) / total) : 0;
      this.stream.write(`\r\x1b[2K${this.label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}${note ? ` ${note}` : ""}`);
      this.shown = true;
      return;
    }
    const quarter = total > 0 ? Math.floor((4 * done) / total) : 4;
    if (quarter > this.lastQuarter) {
      this.lastQuarter = quarter;
      this.stream.write(`${this.label}: ${done}/${total}${note ? ` ${note}` : ""}\n`);
    }
  }

  /** Clears the line (terminal) so what follows prints on a clean line. */
  done(): void {
    if (this.shown && this.stream.isTTY) this.stream.write("\r\x1b[2K");
    this.shown = false;
  }
}
