import { createHash } from "node:crypto";
import type { BlobHead, BlobStore, PutOptions, StoredBlob } from "./blobStore";

/** A blob store in this process's memory, for unit tests of repositories and use cases (ETag = quoted MD5, as S3). */
export class MemoryBlobStore implements BlobStore {
  private readonly objects = new Map<string, StoredBlob>();

  async get(key: string): Promise<StoredBlob | null> {
    const object = this.objects.get(key);
    return object ? { ...object, body: object.body.slice() } : null;
  }

  async head(key: string): Promise<BlobHead | null> {
    const object = this.objects.get(key);
    return object ? { etag: object.etag, metadata: object.metadata } : null;
  }

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<string> {
    const etag = `"${createHash("md5").update(body).digest("hex")}"`;
    this.objects.set(key, { body: body.slice(), etag, metadata: { ...options.metadata } });
    return etag;
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  /** Every key, sorted (for tests that check nothing else was written). */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }
}
