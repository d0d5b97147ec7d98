import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { DomainError, UnavailableError } from "../errors";
import type { BlobHead, BlobStore, PutOptions, StoredBlob } from "./blobStore";

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === "NoSuchKey" || error.name === "NotFound" || error.$metadata.httpStatusCode === 404;
}

/** S3 refused the request itself (bad key, access denied, ...): retrying the same request cannot help. */
function isRejection(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  const status = error.$metadata.httpStatusCode ?? 0;
  return status >= 400 && status < 500 && status !== 408 && status !== 429 && error.name !== "SlowDown" && error.name !== "RequestTimeout";
}

/** The blob store on S3 (AWS, LocalStack or s3rver alike). */
export class S3BlobStore implements BlobStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  /**
   * Runs one S3 call. Absence is null; S3 refusing the request (4xx: a key it will not take,
   * access denied) is an internal error, never "try again"; anything else (network, timeout,
   * 5xx, throttling) is an UnavailableError naming the call: retrying later may work.
   */
  private async call<T>(what: string, key: string, work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      if (isNotFound(error)) return null;
      if (isRejection(error)) throw new DomainError("internal", `S3 refused ${what} ${key}: ${(error as Error).name}`, { cause: error });
      throw new UnavailableError(`The model store is not available (${what} ${key} failed); try again`, { cause: error });
    }
  }

  async get(key: string): Promise<StoredBlob | null> {
    return this.call("GET", key, async () => {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = await out.Body!.transformToByteArray();
      return { body, etag: out.ETag ?? "", metadata: out.Metadata ?? {} };
    });
  }

  async head(key: string): Promise<BlobHead | null> {
    return this.call("HEAD", key, async () => {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { etag: out.ETag ?? "", metadata: out.Metadata ?? {} };
    });
  }

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<string> {
    const out = await this.call("PUT", key, () =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: options.contentType, Metadata: { ...options.metadata } })),
    );
    return out?.ETag ?? "";
  }

  async delete(key: string): Promise<void> {
    await this.call("DELETE", key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }
}
