import { CreateBucketCommand, HeadBucketCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import type { Config } from "../config";

/** An S3 call that did not finish inside its budget (S3_TIMEOUT_MS), every attempt included. */
export class S3TimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`S3 call did not finish within ${timeoutMs} ms (S3_TIMEOUT_MS), retries included`);
    this.name = "S3TimeoutError";
  }
}

/**
 * The S3 client for AWS, LocalStack or the embedded s3rver alike: only the endpoint differs.
 * Checksums only when an operation requires them: s3rver stores streamed bodies with the SDK's
 * default CRC trailers corrupted (TOOLCHAIN.md), and AWS accepts both.
 *
 * Every call is bounded, so a hung or unreachable S3 is a fast 503 rather than a request held
 * until the function's timeout: each attempt has a connect timeout and an inactivity timeout
 * (no byte either way), the SDK's standard retries run inside them, and the whole call (all
 * attempts, backoff and the body's transfer, also a GetObject body read after send() returns) is
 * aborted once `timeoutMs` has passed.
 */
export function createS3Client(s3: Config["s3"]): S3Client {
  const client = new S3Client({
    region: s3.region,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    retryMode: "standard",
    maxAttempts: s3.maxAttempts,
    // Options of the SDK's NodeHttpHandler (the client builds it from this plain object).
    requestHandler: { connectionTimeout: s3.connectTimeoutMs, socketTimeout: s3.socketTimeoutMs },
  });
  return withTotalBudget(client, s3.timeoutMs);
}

type Send = (command: unknown, options?: unknown, callback?: unknown) => Promise<unknown>;

/** Gives every promise-style send() an abort signal that fires after `timeoutMs` (with the caller's own signal, if any). */
function withTotalBudget(client: S3Client, timeoutMs: number): S3Client {
  const send = client.send.bind(client) as unknown as Send;
  const bounded: Send = (command, options, callback) => {
    if (typeof options === "function" || callback !== undefined) return send(command, options, callback);
    const given = (options ?? {}) as { abortSignal?: AbortSignal };
    const controller = new AbortController();
    // Not cleared on success: a GetObject body is still being read after send() returns.
    setTimeout(() => controller.abort(new S3TimeoutError(timeoutMs)), timeoutMs).unref();
    const abortSignal = given.abortSignal ? AbortSignal.any([given.abortSignal, controller.signal]) : controller.signal;
    return send(command, { ...given, abortSignal });
  };
  client.send = bounded as unknown as S3Client["send"];
  return client;
}

/** Creates `bucket` if it does not exist (local stacks only: in AWS the stack owns the bucket). */
export async function ensureBucket(client: S3Client, bucket: string): Promise<"exists" | "created"> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return "exists";
  } catch (error) {
    const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
    if (status !== 404) throw error;
  }
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return "created";
}
