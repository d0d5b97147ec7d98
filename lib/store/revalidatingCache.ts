/**
 * A per-container LRU cache bounded by bytes, for objects loaded from a store with ETags.
 * An entry younger than `ttlMs` is served as is; an older one costs one cheap ETag check
 * (HEAD) and is reloaded only if the object changed. So a warm container sees a change in the
 * store within ttlMs, without a GET on every request. Absence is remembered but never trusted:
 * it is checked again (one HEAD) on every request, so an object that appears (a first fit, a
 * first calibration) is seen by the very next one; remembering it lets stale-if-error answer
 * "still absent" while the store is unreachable.
 */
export interface Loaded<T> {
  readonly value: T;
  readonly etag: string;
  /** What the value holds in memory, for the byte bound. */
  readonly bytes: number;
}

export interface CacheSource<T> {
  /** Current ETag of the object, null if it no longer exists. */
  etag(): Promise<string | null>;
  /** Loads the object, null if it does not exist. */
  load(): Promise<Loaded<T> | null>;
}

/** What an absent object counts for the byte bound (so remembered absences are evicted too). */
const ABSENT_BYTES = 64;

interface Entry<T> {
  /** null: the store said the object does not exist. */
  value: T | null;
  /** null for an absent object. */
  etag: string | null;
  bytes: number;
  /** Last time the store was asked about it (successfully or not): the TTL runs from here. */
  checkedAt: number;
  /** Last time the store confirmed it: stale-if-error runs from here. */
  confirmedAt: number;
}

export type CacheOutcome = "hit" | "revalidated" | "loaded" | "reloaded" | "stale";

export interface StaleIfError {
  /** How long after its last successful check an entry may still be served while the store fails. */
  readonly maxMs: number;
  /** Which failures allow it (the store unreachable), as opposed to answers (not found, corrupt). */
  readonly when: (error: unknown) => boolean;
}

export class RevalidatingCache<T> {
  private readonly entries = new Map<string, Entry<T>>(); // insertion order = least recently used first
  private readonly inFlight = new Map<string, Promise<{ value: T | null; outcome: CacheOutcome }>>();
  private totalBytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly staleIfError: StaleIfError = { maxMs: 0, when: () => false },
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * The value of `key`: from the cache while younger than the TTL, else revalidated or loaded.
   * `immutable`: the object never changes once written (a model version's memory), so a held
   * value is served without ever asking the store again. `revalidate`: ask the store (one ETag
   * check) even within the TTL, as for an absent object (the caller knows the value held lacks
   * something that, once written, must be seen at once).
   */
  async get(
    key: string,
    source: CacheSource<T>,
    options: { immutable?: boolean; revalidate?: boolean } = {},
  ): Promise<{ value: T | null; outcome: CacheOutcome }> {
    const entry = this.entries.get(key);
    if (entry && entry.value !== null && (options.immutable || (!options.revalidate && this.now() - entry.checkedAt < this.ttlMs))) {
      this.touch(key, entry);
      return { value: entry.value, outcome: "hit" };
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.refresh(key, entry, source).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /** Whether a value of `key` is held (fresh or due for revalidation): a get may then need no load. */
  holds(key: string): boolean {
    return this.peek(key) !== null;
  }

  /** The value held for `key` (fresh or not), without asking the store or touching its place in the LRU; null if none. */
  peek(key: string): T | null {
    return this.entries.get(key)?.value ?? null;
  }

  invalidate(key: string): void {
    const entry = this.entries.get(key);
    if (entry) {
      this.totalBytes -= entry.bytes;
      this.entries.delete(key);
    }
  }

  /**
   * Revalidates or loads. While the store fails in a way `staleIfError.when` accepts, an entry
   * confirmed less than `staleIfError.maxMs` ago is served as "stale" (and not asked about
   * again for ttlMs, so a hung store costs one request per TTL its timeout, not every request).
   */
  private async refresh(key: string, entry: Entry<T> | undefined, source: CacheSource<T>): Promise<{ value: T | null; outcome: CacheOutcome }> {
    try {
      return await this.refreshFromStore(key, entry, source);
    } catch (error) {
      const now = this.now();
      if (entry && this.entries.get(key) === entry && now - entry.confirmedAt <= this.staleIfError.maxMs && this.staleIfError.when(error)) {
        entry.checkedAt = now;
        this.touch(key, entry);
        return { value: entry.value, outcome: "stale" };
      }
      throw error;
    }
  }

  private async refreshFromStore(key: string, entry: Entry<T> | undefined, source: CacheSource<T>): Promise<{ value: T | null; outcome: CacheOutcome }> {
    if (entry) {
      const etag = await source.etag();
      if (etag === entry.etag) {
        entry.checkedAt = entry.confirmedAt = this.now();
        this.touch(key, entry);
        return { value: entry.value, outcome: "revalidated" };
      }
    }
    const loaded = await source.load();
    this.invalidate(key);
    const now = this.now();
    const fresh: Entry<T> = loaded
      ? { value: loaded.value, etag: loaded.etag, bytes: loaded.bytes, checkedAt: now, confirmedAt: now }
      : { value: null, etag: null, bytes: ABSENT_BYTES, checkedAt: now, confirmedAt: now };
    if (fresh.bytes <= this.maxBytes) {
      this.entries.set(key, fresh);
      this.totalBytes += fresh.bytes;
      this.evict();
    }
    return { value: fresh.value, outcome: entry ? "reloaded" : "loaded" };
  }

  private touch(key: string, entry: Entry<T>): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.totalBytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.totalBytes -= entry.bytes;
    }
  }
}
