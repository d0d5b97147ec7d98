import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { DomainError, UnavailableError } from "../errors";
import { PreconditionFailed, type BlobHead, type BlobStore, type ListedBlob, type PutOptions, type StoredBlob } from "./blobStore";

/** 412 PreconditionFailed, or 409 ConditionalRequestConflict (a concurrent conditional write): read again and retry. */
function isPreconditionFailure(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  const status = error.$metadata.httpStatusCode;
  return status === 412 || error.name === "PreconditionFailed" || error.name === "ConditionalRequestConflict";
}

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
      if (isPreconditionFailure(error)) throw new PreconditionFailed(key);
      if (isRejection(error)) throw new DomainError("internal", `S3 refused ${what} ${key}: ${(error as Error).name}`, { cause: error });
      throw new UnavailableError(`The model store is not available (${what} ${key} failed); try again`, { cause: error });
    }
  }

  async get(key: string): Promise<StoredBlob | null> {
    return this.call("GET", key, async () => {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = await out.Body!.transformToByteArray();
      return { body, etag: out.ETag ?? "", metadata: out.Metadata ?? {}, size: body.length };
    });
  }

  async head(key: string): Promise<BlobHead | null> {
    return this.call("HEAD", key, async () => {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { etag: out.ETag ?? "", metadata: out.Metadata ?? {}, size: out.ContentLength ?? 0 };
    });
  }

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<string> {
    const out = await this.call("PUT", key, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentType: options.contentType,
          Metadata: { ...options.metadata },
          ...(options.ifMatch !== undefined ? { IfMatch: options.ifMatch } : {}),
          ...(options.ifNoneMatch !== undefined ? { IfNoneMatch: options.ifNoneMatch } : {}),
        }),
      ),
    );
    return out?.ETag ?? "";
  }

  async copy(from: string, to: string, options: PutOptions): Promise<boolean> {
    const out = await this.call("COPY", `${from} -> ${to}`, () =>
      this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: to,
          CopySource: `${this.bucket}/${from.split("/").map(encodeURIComponent).join("/")}`,
          ContentType: options.contentType,
          ...(options.metadata ? { Metadata: { ...options.metadata }, MetadataDirective: "REPLACE" as const } : {}),
        }),
      ),
    );
    return out !== null;
  }

  async list(prefix: string): Promise<ListedBlob[]> {
    const found: ListedBlob[] = [];
    let token: string | undefined;
    do {
      const page = await this.call("LIST", prefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })),
      );
      for (const object of page?.Contents ?? []) if (object.Key) found.push({ key: object.Key, lastModified: object.LastModified ?? new Date(0) });
      token = page?.NextContinuationToken;
    } while (token);
    return found;
  }

  async presignPut(key: string, contentType: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }), { expiresIn: expiresInSeconds });
  }

  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInSeconds });
  }

  async delete(key: string): Promise<void> {
    await this.call("DELETE", key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }
}
