import { randomUUID } from "node:crypto";
import { z } from "zod";
import { UnavailableError } from "../errors";
import type { Timings } from "../util/timings";
import { PreconditionFailed, type BlobStore } from "./blobStore";
import { storedCalibration } from "./calibrationRepository";
import { jsonArtefact, parseJsonArtefact } from "./jsonArtefact";
import type { ModelKeys } from "./keys";

export const VERSION_SOURCES = ["images", "dataset", "append", "legacy"] as const;
export type VersionSource = (typeof VERSION_SOURCES)[number];

/** One version of a model as its versions object records it. */
const versionEntry = z.looseObject({
  version: z.number().int().positive(),
  /** The fit that wrote its memory (null: a legacy memory that records none, e.g. the old backend's). */
  fit_id: z.string().nullable(),
  created_at: z.string(),
  source: z.enum(VERSION_SOURCES),
  /** The version an append started from (null otherwise). */
  parent_version: z.number().int().positive().nullable(),
  n_images: z.number().nullable(),
  n_embeddings: z.number().nullable(),
  coreset_size: z.number().nullable(),
  memory_fit: z.boolean().nullable(),
  covering_radius: z.number().nullable(),
  model: z.string().nullable(),
  mm_per_px: z.number().nullable(),
  /** Its threshold and the figures it came from; null until calibrated (or inherited). */
  calibration: storedCalibration.nullable(),
  /** true while the calibration is the one this version got at its fit (its parent's, or the model's active one's), until it is calibrated itself. */
  calibration_inherited: z.boolean(),
  /** The version it was inherited from (null: its own, none, or the calibration made before any version). */
  calibration_from_version: z.number().int().positive().nullable(),
});
export type VersionEntry = z.infer<typeof versionEntry>;

/** A model's versions object: every version, which one is served, and the next number to give. */
const versionsSchema = z.looseObject({
  format: z.literal(1),
  /** Numbers are never given twice, even after a delete. */
  next_version: z.number().int().positive(),
  /** The version /infer serves by default; null until one is activated (a first fit with activate=false). */
  active_version: z.number().int().positive().nullable(),
  /** The version active before the last change of active_version. */
  previous_version: z.number().int().positive().nullable(),
  updated_at: z.string(),
  /** A random id of the write that stored this object: tells a write whose answer was lost from another's. */
  write_id: z.string().optional(),
  versions: z.array(versionEntry),
});
export type ModelVersions = z.infer<typeof versionsSchema>;

/** S3 failed after a write of a versions object was sent: it may or may not have landed (503: try again, then look). */
export class VersionsWriteInDoubt extends UnavailableError {
  constructor(key: string, cause: unknown) {
    super(
      `S3 failed while the versions of this model (${key}) were being written: the change may or may not be stored; list the versions (GET /models) before trying again`,
      { cause },
    );
  }
}

/** Conditional writes of one versions object that collide are retried this many times (then 503: try again). */
const MAX_ATTEMPTS = 20;

/** What a change of a model's versions decides: the new object (or none: nothing to write) and what the caller gets back. */
export type VersionsChange<T> = { readonly versions: ModelVersions | null; readonly result: T };

/**
 * A model's versions (`<base>_versions.json`): the only mutable object of a versioned model, so
 * an activation, a new version, a calibration and a delete are each one conditional write of it
 * (If-Match its ETag, or If-None-Match for the first), read again and re-applied on a conflict:
 * racing writers never tear it, and a reader sees one consistent state (which version is active,
 * with which memory and which threshold).
 */
export class VersionRepository {
  constructor(private readonly store: BlobStore) {}

  async etag(keys: ModelKeys, timings: Timings): Promise<string | null> {
    return (await timings.time("s3_head", () => this.store.head(keys.versions)))?.etag ?? null;
  }

  /** The versions object, or null for a model stored before versions (or never fitted). */
  async load(keys: ModelKeys, timings: Timings): Promise<{ versions: ModelVersions; etag: string } | null> {
    const object = await timings.time("s3_get", () => this.store.get(keys.versions));
    if (!object) return null;
    return { versions: parseJsonArtefact(keys.versions, object, versionsSchema, "model versions"), etag: object.etag };
  }

  /**
   * Read-modify-write: `change` gets the current object (null when there is none yet) and returns
   * the new one (null: leave it as it is) with a result; written only if nobody wrote it meanwhile,
   * else read again and `change` applied again to what is there now.
   *
   * A write can land without its answer reaching us (a timeout; the SDK's resend of it then fails
   * its own precondition): the object read next then carries our write's `write_id`, and the
   * change is done. When that cannot be told (S3 failing after a write was sent),
   * VersionsWriteInDoubt says so: the change may or may not be stored.
   */
  async update<T>(keys: ModelKeys, timings: Timings, change: (current: ModelVersions | null) => VersionsChange<T> | Promise<VersionsChange<T>>): Promise<T> {
    let sent: { writeId: string; result: T } | null = null;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const current = await this.loadAfter(keys, timings, sent);
      if (sent && current?.versions.write_id === sent.writeId) return sent.result;
      const { versions, result } = await change(current?.versions ?? null);
      if (versions === null) return result;
      const writeId = randomUUID();
      const { body, options } = jsonArtefact(
        { ...versions, updated_at: new Date().toISOString(), write_id: writeId },
        current ? { ifMatch: current.etag } : { ifNoneMatch: "*" },
        true,
      );
      sent = { writeId, result };
      try {
        await timings.time("s3_put", () => this.store.put(keys.versions, body, options));
        return result;
      } catch (error) {
        if (error instanceof PreconditionFailed) continue;
        const now = await this.loadAfter(keys, timings, sent);
        if (now?.versions.write_id === writeId) return result;
        throw new VersionsWriteInDoubt(keys.versions, error);
      }
    }
    throw new UnavailableError(`The versions of this model (${keys.versions}) are being changed by many requests at once; try again`);
  }

  /** load(), where a failure after a write was sent leaves that write in doubt. */
  private async loadAfter(keys: ModelKeys, timings: Timings, sent: object | null): ReturnType<VersionRepository["load"]> {
    try {
      return await this.load(keys, timings);
    } catch (error) {
      if (sent === null) throw error;
      throw new VersionsWriteInDoubt(keys.versions, error);
    }
  }
}
