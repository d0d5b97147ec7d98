import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { UnavailableError } from "../errors";
import type { BlobHead, BlobStore, PutOptions, StoredBlob } from "./blobStore";

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === "NoSuchKey" || error.name === "NotFound" || error.$metadata.httpStatusCode === 404;
}

/** The blob store on S3 (AWS, LocalStack or s3rver alike). */
export class S3BlobStore implements BlobStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  /** Runs one S3 call; absence is null, any other failure an UnavailableError naming the call. */
  private async call<T>(what: string, key: string, work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      if (isNotFound(error)) return null;
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
