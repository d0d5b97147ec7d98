import { CorruptArtefactError } from "../errors";
import type { MemoryBank } from "../patchcore/memoryBank";
import type { Timings } from "../util/timings";
import type { BlobStore } from "./blobStore";
import type { ModelKeys } from "./keys";
import { decodeMemoryNpz, encodeMemoryNpz } from "./npz";

/** What a memory's object metadata says without reading it (S3 user metadata; the .npz holds the same). */
export interface MemoryHead {
  readonly etag: string;
  /** The fit that wrote it; absent for memories written by the old backend. */
  readonly fitId?: string;
  /** The mm_per_px the fit recorded, if any. */
  readonly mmPerPx?: number;
}

export interface StoredMemory {
  readonly bank: MemoryBank;
  readonly etag: string;
}

/** S3 user-metadata names: the only place they are spelled. */
const META = { fitId: "fit-id", mmPerPx: "mm-per-px", dim: "dim" } as const;

function headOf(etag: string, metadata: Readonly<Record<string, string>>): MemoryHead {
  const mmPerPx = Number(metadata[META.mmPerPx]);
  const fitId = metadata[META.fitId];
  return { etag, ...(fitId ? { fitId } : {}), ...(mmPerPx > 0 && Number.isFinite(mmPerPx) ? { mmPerPx } : {}) };
}

/**
 * Fitted memories (the PatchCore memory bank as the old backend's .npz) and their optional HNSW
 * index, under the keys of lib/store/keys.ts. Stage times go to `timings` (s3_get, s3_head,
 * s3_put, npz_decode).
 */
export class MemoryRepository {
  constructor(private readonly store: BlobStore) {}

  async head(keys: ModelKeys, timings: Timings): Promise<MemoryHead | null> {
    const head = await timings.time("s3_head", () => this.store.head(keys.memory));
    return head ? headOf(head.etag, head.metadata) : null;
  }

  /** The memory, or null if none is stored; CorruptArtefactError if it cannot be decoded. */
  async load(keys: ModelKeys, timings: Timings): Promise<StoredMemory | null> {
    const object = await timings.time("s3_get", () => this.store.get(keys.memory));
    if (!object) return null;
    try {
      return { bank: await timings.time("npz_decode", () => decodeMemoryNpz(object.body)), etag: object.etag };
    } catch (cause) {
      throw new CorruptArtefactError(keys.memory, cause);
    }
  }

  /** The serialised HNSW index written by fit `fitId`, or null (absent, or from another fit). */
  async loadIndex(keys: ModelKeys, fitId: string, timings: Timings): Promise<{ bytes: Uint8Array | null; foundFitId?: string }> {
    const index = await timings.time("s3_get", () => this.store.get(keys.index));
    if (!index) return { bytes: null };
    const foundFitId = index.metadata[META.fitId];
    return fitId !== "" && foundFitId === fitId ? { bytes: index.body, foundFitId } : { bytes: null, ...(foundFitId ? { foundFitId } : {}) };
  }

  /**
   * Stores one fit: the index first (tagged with the fit's id), the memory last. S3 replaces each
   * object atomically, so readers see the old memory or the new one, never a part; the memory is
   * the commit point. A fit without an index removes the previous fit's index once the memory is
   * in place.
   */
  async saveFit(keys: ModelKeys, bank: MemoryBank, index: Uint8Array | null, timings: Timings): Promise<string> {
    const fitId = String(bank.metadata.fit_id ?? "");
    if (index) await timings.time("s3_put", () => this.store.put(keys.index, index, { contentType: "application/octet-stream", metadata: { [META.fitId]: fitId, [META.dim]: String(bank.dim) } }));
    const metadata: Record<string, string> = { [META.fitId]: fitId };
    if (bank.metadata.mm_per_px !== undefined) metadata[META.mmPerPx] = String(bank.metadata.mm_per_px);
    const etag = await timings.time("s3_put", () => this.store.put(keys.memory, encodeMemoryNpz(bank), { contentType: "application/octet-stream", metadata }));
    if (!index) await timings.time("s3_put", () => this.store.delete(keys.index));
    return etag;
  }
}
