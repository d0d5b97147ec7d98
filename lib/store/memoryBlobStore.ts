import { createHash } from "node:crypto";
import { PreconditionFailed, type BlobHead, type BlobStore, type ListedBlob, type PutOptions, type StoredBlob } from "./blobStore";

/** A blob store in this process's memory, for unit tests of repositories and use cases (ETag = quoted MD5, as S3). */
export class MemoryBlobStore implements BlobStore {
  private readonly objects = new Map<string, StoredBlob & { lastModified: Date }>();

  async get(key: string): Promise<StoredBlob | null> {
    const object = this.objects.get(key);
    return object ? { etag: object.etag, metadata: object.metadata, body: object.body.slice(), size: object.body.length } : null;
  }

  async head(key: string): Promise<BlobHead | null> {
    const object = this.objects.get(key);
    return object ? { etag: object.etag, metadata: object.metadata, size: object.body.length } : null;
  }

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<string> {
    const current = this.objects.get(key);
    if ((options.ifNoneMatch === "*" && current) || (options.ifMatch !== undefined && current?.etag !== options.ifMatch)) throw new PreconditionFailed(key);
    const etag = `"${createHash("md5").update(body).digest("hex")}"`;
    this.objects.set(key, { body: body.slice(), etag, metadata: { ...options.metadata }, size: body.length, lastModified: new Date() });
    return etag;
  }

  async copy(from: string, to: string, options: PutOptions): Promise<boolean> {
    const source = this.objects.get(from);
    if (!source) return false;
    await this.put(to, source.body, { ...options, metadata: options.metadata ?? source.metadata });
    return true;
  }

  async list(prefix: string): Promise<ListedBlob[]> {
    return [...this.objects].filter(([key]) => key.startsWith(prefix)).map(([key, o]) => ({ key, lastModified: o.lastModified }));
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  /** Every key, sorted (for tests that check nothing else was written). */
  keys(): string[] {
    return [...this.objects.keys()].sort();
  }
}
