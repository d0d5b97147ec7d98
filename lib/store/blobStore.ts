/**
 * Where artefacts are kept: a key -> bytes store with ETags and small string metadata. S3 in
 * production and locally (s3rver); in memory for fast unit tests of the repositories and use
 * cases. Absence is null; any other failure is an UnavailableError (the store could not answer).
 */
export interface BlobHead {
  readonly etag: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface StoredBlob extends BlobHead {
  readonly body: Uint8Array;
}

export interface PutOptions {
  readonly contentType: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface BlobStore {
  get(key: string): Promise<StoredBlob | null>;
  head(key: string): Promise<BlobHead | null>;
  /** Replaces the object atomically (readers see the old bytes or the new, never a part); returns the new ETag. */
  put(key: string, body: Uint8Array, options: PutOptions): Promise<string>;
  /** Removes the object; removing an absent one is not an error. */
  delete(key: string): Promise<void>;
}
