import { z } from "zod";
import { UnavailableError } from "../errors";
import type { Timings } from "../util/timings";
import { PreconditionFailed, type BlobStore } from "./blobStore";
import { DIGEST_METADATA, sha256Hex, verifyDigest } from "./integrity";
import { jsonArtefact, parseJsonArtefact } from "./jsonArtefact";
import { DATASET_LABELS, datasetKeys, type DatasetIdentity, type DatasetKeys, type DatasetLabel } from "./keys";

export { DATASET_LABELS, type DatasetLabel };

const entrySchema = z.object({
  filename: z.string(),
  label: z.enum(DATASET_LABELS),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  content_type: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** The client's meta plus role_id, roi_id, label, filename, recipe_id, created_at_utc when absent (the old backend's rule). */
  meta: z.record(z.string(), z.unknown()),
  added_at: z.string(),
  /** The direct upload it was committed from: a commit retried is not added twice. */
  upload_id: z.string().optional(),
});
export type DatasetEntry = z.infer<typeof entrySchema>;

const catalogSchema = z.object({ version: z.literal(1), files: z.array(entrySchema) });
export type DatasetCatalog = z.infer<typeof catalogSchema>;

const EMPTY: DatasetCatalog = { version: 1, files: [] };
/** Conditional writes of one catalog that collide are retried this many times (then 503: try again). */
const MAX_ATTEMPTS = 20;

/**
 * A dataset: its images under keys the service generates, and one catalog object (index.json) listing them with
 * their metas. The catalog is the only source of truth (nothing is listed from the bucket) and the
 * commit point: images are written first, then the catalog that names them, with a conditional
 * write (If-Match its ETag) retried on conflict, so parallel uploads never lose one another.
 */
export class DatasetRepository {
  constructor(
    private readonly store: BlobStore,
    private readonly prefix: string,
  ) {}

  keys(dataset: DatasetIdentity): DatasetKeys {
    return datasetKeys(this.prefix, dataset);
  }

  /** The catalog (empty when the dataset has none yet) and its ETag (null: not stored yet). */
  async catalog(dataset: DatasetIdentity, timings: Timings): Promise<{ catalog: DatasetCatalog; etag: string | null }> {
    const key = this.keys(dataset).catalog;
    const object = await timings.time("s3_get", () => this.store.get(key));
    if (!object) return { catalog: EMPTY, etag: null };
    return { catalog: parseJsonArtefact(key, object, catalogSchema, "dataset catalog (index.json)"), etag: object.etag };
  }

  /**
   * Read-modify-write of the catalog: `change` gets the current catalog and returns the new one (and
   * a result); written only if nobody wrote it meanwhile, else read again and retried.
   */
  async update<T>(dataset: DatasetIdentity, timings: Timings, change: (catalog: DatasetCatalog) => { catalog: DatasetCatalog; result: T }): Promise<T> {
    const key = this.keys(dataset).catalog;
    for (let attempt = 1; ; attempt++) {
      const { catalog, etag } = await this.catalog(dataset, timings);
      const { catalog: next, result } = change(catalog);
      if (next === catalog) return result;
      const { body, options } = jsonArtefact(next, etag === null ? { ifNoneMatch: "*" } : { ifMatch: etag });
      try {
        await timings.time("s3_put", () => this.store.put(key, body, options));
        return result;
      } catch (error) {
        if (!(error instanceof PreconditionFailed)) throw error;
        if (attempt >= MAX_ATTEMPTS)
          throw new UnavailableError(`The dataset catalog ${key} is being changed by many requests at once; try again`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * Math.min(attempt, 8)));
      }
    }
  }

  /** Stores an image's bytes under its (new, unique) key, with its digest; not yet in the catalog. */
  async putFile(dataset: DatasetIdentity, label: DatasetLabel, filename: string, bytes: Uint8Array, contentType: string, timings: Timings): Promise<void> {
    const key = this.keys(dataset).file(label, filename);
    await timings.time("s3_put", () => this.store.put(key, bytes, { contentType, metadata: { [DIGEST_METADATA]: sha256Hex(bytes) }, ifNoneMatch: "*" }));
  }

  /** Moves bytes uploaded straight to S3 (a presigned PUT) to the image's key. */
  async copyFile(
    fromKey: string,
    dataset: DatasetIdentity,
    label: DatasetLabel,
    filename: string,
    contentType: string,
    sha256: string,
    timings: Timings,
  ): Promise<boolean> {
    const key = this.keys(dataset).file(label, filename);
    return timings.time("s3_put", () => this.store.copy(fromKey, key, { contentType, metadata: { [DIGEST_METADATA]: sha256 } }));
  }

  /** An image's bytes, checked against the digest written with them; null when absent. */
  async file(dataset: DatasetIdentity, entry: Pick<DatasetEntry, "label" | "filename">, timings: Timings): Promise<Uint8Array | null> {
    const key = this.keys(dataset).file(entry.label, entry.filename);
    const object = await timings.time("s3_get", () => this.store.get(key));
    if (!object) return null;
    verifyDigest(key, object, "dataset image");
    return object.body;
  }

  /** A URL the client can download the image from directly (S3 presigned GET), or null where the store has none. */
  async fileUrl(dataset: DatasetIdentity, entry: DatasetEntry, expiresInSeconds: number): Promise<string | null> {
    return this.store.presignGet ? this.store.presignGet(this.keys(dataset).file(entry.label, entry.filename), expiresInSeconds) : null;
  }

  async deleteFile(dataset: DatasetIdentity, label: DatasetLabel, filename: string, timings: Timings): Promise<void> {
    await timings.time("s3_put", () => this.store.delete(this.keys(dataset).file(label, filename)));
  }
}
