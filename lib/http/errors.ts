/**
 * One error class per HTTP meaning. Only messages of status < 500 reach a client; anything
 * else becomes a generic 500 whose details stay in the logs.
 */
export class HttpError extends Error {
  /** True when the message may be shown to the client (always for 4xx; 5xx only when written for clients). */
  readonly expose: boolean;

  constructor(
    readonly statusCode: number,
    message: string,
    options?: { cause?: unknown; expose?: boolean },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.expose = options?.expose ?? statusCode < 500;
  }
}

/** 400: a field is missing, malformed or out of range; an image cannot be decoded; the memory is missing. */
export class BadRequestError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, message, options);
  }
}

/** 404: the thing named does not exist. */
export class NotFoundError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(404, message, options);
  }
}

/** 409: the request conflicts with what is stored (e.g. mm_per_px locked for a recipe). */
export class ConflictError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(409, message, options);
  }
}

/** 413: a body, a file or an image is larger than allowed; the message says the limit. */
export class PayloadTooLargeError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(413, message, options);
  }
}

/** 415: the request's content type is not the one this endpoint reads. */
export class UnsupportedMediaTypeError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(415, message, options);
  }
}

/** 503: a dependency of ours (S3, the model) is not available right now; the message is written for clients. */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, message, { ...options, expose: true });
  }
}
