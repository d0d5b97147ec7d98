/**
 * Where artefacts are kept: a key -> bytes store with ETags and small string metadata. S3 in
 * production and locally (s3rver); in memory for fast unit tests of the repositories and use
 * cases. Absence is null; any other failure is an UnavailableError (the store could not answer).
 */
export interface BlobHead {
  readonly etag: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Bytes. */
  readonly size: number;
}

export interface StoredBlob extends BlobHead {
  readonly body: Uint8Array;
}

export interface PutOptions {
  readonly contentType: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Write only if the object's current ETag is this one (optimistic concurrency: read, change, write back). */
  readonly ifMatch?: string;
  /** "*": write only if no object exists under the key. */
  readonly ifNoneMatch?: "*";
}

/** A conditional write found the object changed (or present) since it was read: read again and retry. */
export class PreconditionFailed extends Error {
  constructor(readonly key: string) {
    super(`the object ${key} changed since it was read`);
    this.name = "PreconditionFailed";
  }
}

export interface ListedBlob {
  readonly key: string;
  readonly lastModified: Date;
}

export interface BlobStore {
  get(key: string): Promise<StoredBlob | null>;
  head(key: string): Promise<BlobHead | null>;
  /** Replaces the object atomically (readers see the old bytes or the new, never a part); returns the new ETag. */
  put(key: string, body: Uint8Array, options: PutOptions): Promise<string>;
  /** Removes the object; removing an absent one is not an error. */
  delete(key: string): Promise<void>;
  /** Copies an object inside the store (server-side); false when the source does not exist. */
  copy(from: string, to: string, options: PutOptions): Promise<boolean>;
  /**
   * Keys under a prefix. Only for housekeeping of the service's own scratch space (expired
   * uploads): what the service reads as data always comes from objects it wrote and names.
   */
  list(prefix: string): Promise<ListedBlob[]>;
  /** A URL a client can PUT the object's bytes to directly, valid for `expiresInSeconds`; undefined where the store has none. */
  presignPut?(key: string, contentType: string, expiresInSeconds: number): Promise<string>;
  /** A URL a client can GET the object from directly. */
  presignGet?(key: string, expiresInSeconds: number): Promise<string>;
}
