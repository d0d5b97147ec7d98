import { DomainError, type ErrorCode } from "../errors";

/**
 * The one place where a domain error code becomes an HTTP status. The old backend's contract:
 * 4xx for anything the client did wrong (a missing memory is its 400 "Memory not found"),
 * 5xx only for our faults. Only `internal` hides its message.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_input: 400,
  not_fitted: 400,
  calibration_missing: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  time_budget: 413,
  internal: 500,
  throttled: 429,
  gateway: 403,
  unavailable: 503,
  corrupt_artefact: 503,
};

export interface ErrorBody {
  readonly error: string;
  readonly code: ErrorCode;
  readonly request_id: string;
}

export interface MappedError {
  readonly status: number;
  readonly body: ErrorBody;
  /** True when the client caused it (logged as a warning, not an error). */
  readonly clientFault: boolean;
}

/** Status and JSON body for any thrown value; anything not a DomainError is a generic 500. */
export function errorResponse(error: unknown, requestId: string): MappedError {
  if (error instanceof DomainError) {
    const status = HTTP_STATUS[error.code];
    const message = error.code === "internal" ? "Internal server error" : error.message;
    return { status, body: { error: message, code: error.code, request_id: requestId }, clientFault: status < 500 };
  }
  return { status: 500, body: { error: "Internal server error", code: "internal", request_id: requestId }, clientFault: false };
}
