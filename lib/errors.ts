/**
 * Domain errors with stable codes. The pipeline (image, features, patchcore, store) and the use
 * cases raise these; each transport maps the code to its own terms in one place (HTTP:
 * lib/http/errorResponse.ts; batch items keep the code as is). A code never changes meaning.
 *
 * `message` is written for the caller (it says what was wrong and what to do), except for
 * InternalError-like faults (plain Error), whose details stay in the logs.
 */
export const ERROR_CODES = [
  /** A field is missing, malformed or out of range; an image cannot be decoded. */
  "invalid_input",
  /** The request's content type is not the one the operation reads. */
  "unsupported_media_type",
  /** No memory is fitted for the identity named. */
  "not_fitted",
  /** A calibration is needed and none is stored (the old backend's `calibration_missing`). */
  "calibration_missing",
  /** The thing named does not exist (a dataset file, a job). */
  "not_found",
  /** The request conflicts with what is stored (e.g. a recipe's locked mm_per_px). */
  "conflict",
  /** A body, file, image or result is larger than allowed; the message states the limit. */
  "too_large",
  /** A dependency (S3, the ONNX model) is not available right now: retrying later may work. */
  "unavailable",
  /** A stored artefact cannot be read; re-fitting (or re-calibrating) replaces it. */
  "corrupt_artefact",
  /** Not enough time left in this invocation to finish without leaving half-done work. */
  "time_budget",
  /** Our own fault; details are only in the logs. */
  "internal",
  /** API Gateway refused the request itself (throttling or a usage plan's quota): wait and retry. */
  "throttled",
  /** API Gateway answered by itself (unknown route, missing or invalid API key, ...). */
  "gateway",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("invalid_input", message, options);
  }
}

export class UnsupportedMediaTypeError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unsupported_media_type", message, options);
  }
}

export class NotFittedError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("not_fitted", message, options);
  }
}

export class CalibrationMissingError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("calibration_missing", message, options);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("not_found", message, options);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("conflict", message, options);
  }
}

export class TooLargeError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("too_large", message, options);
  }
}

export class UnavailableError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unavailable", message, options);
  }
}

/** What replaces an unreadable artefact, by what it is (a memory or a calibration: a re-fit or re-calibration). */
const REMEDIES: Readonly<Record<string, string>> = {
  "dataset image": "delete it (DELETE /datasets/file) and upload it again",
  "dataset catalog (index.json)": "clear the dataset's labels (DELETE /datasets/clear) and upload the images again",
  "stored recipe settings": "set them again with PUT /recipe_settings",
  "job state": "the job cannot be followed any more; start the work again",
  "version memory": "delete that version (DELETE /models/version) after activating another, or fit again",
  "model versions": "restore its previous object version from the bucket (it is versioned), or remove it to serve the memory stored before versions",
  "job part": "the job's partial result is lost; start the work again",
};

export class CorruptArtefactError extends DomainError {
  constructor(
    readonly key: string,
    cause: unknown,
    what = "stored memory",
  ) {
    super(
      "corrupt_artefact",
      `The ${what} ${key} cannot be read (${(cause as Error)?.message ?? String(cause)}): ${REMEDIES[what] ?? "run /fit_ok (or /calibrate_ng) again to replace it"}`,
      { cause },
    );
  }
}

export class TimeBudgetError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("time_budget", message, options);
  }
}
