/** What the CLI's exit status means, for scripts that call it. */
export const EXIT = {
  /** Done; for `infer`, every image passed. */
  OK: 0,
  /** `infer`: at least one image is defective (score at or over the threshold). */
  DEFECT: 1,
  /** The command line is wrong (unknown option, missing argument, no images found). */
  USAGE: 2,
  /** The service answered an error (4xx/5xx), or could not be reached. */
  SERVICE: 3,
  /** A job the command waited for ended failed. */
  JOB_FAILED: 4,
} as const;

/** An error the CLI reports in one line and exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}
