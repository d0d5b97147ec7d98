import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { HttpError, ServiceUnavailableError } from "../http/errors";
import type { Calibration } from "../patchcore/calibration";
import type { MemoryBank } from "../patchcore/memoryBank";
import { Timings } from "../util/timings";
import type { ModelKeys } from "./keys";
import { decodeMemoryNpz, encodeMemoryNpz } from "./npz";

export interface StoredObject {
  readonly body: Uint8Array;
  readonly etag: string;
  readonly metadata: Record<string, string>;
}

export interface StoredMemory {
  readonly bank: MemoryBank;
  readonly etag: string;
}

/** A stored artefact that cannot be decoded: not the client's fault (500), but a re-fit replaces it, so say so. */
export class CorruptModelError extends HttpError {
  constructor(key: string, cause: unknown) {
    super(500, `The stored model ${key} cannot be read (${(cause as Error).message}): run /fit_ok (or /calibrate_ng) again`, { cause, expose: true });
  }
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === "NoSuchKey" || error.name === "NotFound" || error.$metadata.httpStatusCode === 404;
}

/**
 * The model store on S3 (AWS, LocalStack or s3rver alike). Memories, indexes and calibrations
 * under the keys of lib/store/keys.ts. Every S3 call's time is added to `timings` as s3_get / s3_put.
 */
export class S3ModelStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  private async call<T>(what: string, key: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isNotFound(error)) throw error;
      throw new ServiceUnavailableError(`The model store is not available (${what} ${key} failed); try again`, { cause: error });
    }
  }

  /** The object, or null if it does not exist. */
  async get(key: string, timings: Timings): Promise<StoredObject | null> {
    return timings.time("s3_get", async () => {
      try {
        const out = await this.call("GET", key, () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
        const body = await out.Body!.transformToByteArray();
        return { body, etag: out.ETag ?? "", metadata: out.Metadata ?? {} };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    });
  }

  /** The object's ETag and user metadata, or null if it does not exist (a cheap freshness check). */
  async head(key: string, timings: Timings): Promise<{ etag: string; metadata: Record<string, string> } | null> {
    return timings.time("s3_head", async () => {
      try {
        const out = await this.call("HEAD", key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
        return { etag: out.ETag ?? "", metadata: out.Metadata ?? {} };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    });
  }

  async put(key: string, body: Uint8Array, contentType: string, timings: Timings, metadata: Record<string, string> = {}): Promise<string> {
    return timings.time("s3_put", async () => {
      const out = await this.call("PUT", key, () =>
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, Metadata: metadata })),
      );
      return out.ETag ?? "";
    });
  }

  async delete(key: string, timings: Timings): Promise<void> {
    await timings.time("s3_put", () => this.call("DELETE", key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))));
  }

  async loadMemory(keys: ModelKeys, timings: Timings): Promise<StoredMemory | null> {
    const object = await this.get(keys.memory, timings);
    if (!object) return null;
    try {
      return { bank: await timings.time("npz_decode", () => decodeMemoryNpz(object.body)), etag: object.etag };
    } catch (cause) {
      throw new CorruptModelError(keys.memory, cause);
    }
  }

  /**
   * Stores one fit: the index first (tagged with the fit's id), the memory last. S3 replaces each
   * object atomically, so readers see the old memory or the new one, never a part; the memory is
   * the commit point. If the memory write fails, the previous memory stays and its index no
   * longer matches its fit_id, which readers detect (and then score exactly). A fit without an
   * index removes the previous fit's index once the memory is in place.
   */
  async saveFit(keys: ModelKeys, bank: MemoryBank, index: Uint8Array | null, timings: Timings): Promise<void> {
    const fitId = String(bank.metadata.fit_id ?? "");
    if (index) await this.put(keys.index, index, "application/octet-stream", timings, { "fit-id": fitId, dim: String(bank.dim) });
    const tags: Record<string, string> = { "fit-id": fitId };
    if (bank.metadata.mm_per_px !== undefined) tags["mm-per-px"] = String(bank.metadata.mm_per_px);
    await this.put(keys.memory, encodeMemoryNpz(bank), "application/octet-stream", timings, tags);
    if (!index) await this.delete(keys.index, timings);
  }

  async loadCalibration(keys: ModelKeys, timings: Timings): Promise<{ calibration: Calibration; etag: string } | null> {
    const object = await this.get(keys.calibration, timings);
    if (!object) return null;
    try {
      return { calibration: JSON.parse(Buffer.from(object.body).toString("utf8")) as Calibration, etag: object.etag };
    } catch (cause) {
      throw new CorruptModelError(keys.calibration, cause);
    }
  }

  async saveCalibration(keys: ModelKeys, calibration: Calibration, timings: Timings): Promise<void> {
    await this.put(keys.calibration, Buffer.from(JSON.stringify(calibration, null, 2)), "application/json", timings);
  }
}
