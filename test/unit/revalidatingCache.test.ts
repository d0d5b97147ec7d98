import { RevalidatingCache, type CacheSource } from "../../lib/store/revalidatingCache";

/** A fake store object whose content and ETag the test changes; counts the calls made to it. */
function object(initial: string | null, bytes = 10) {
  const state = { content: initial, version: 1, heads: 0, loads: 0 };
  const source: CacheSource<string> = {
    etag: async () => {
      state.heads++;
      return state.content === null ? null : `"v${state.version}"`;
    },
    load: async () => {
      state.loads++;
      return state.content === null ? null : { value: state.content, etag: `"v${state.version}"`, bytes };
    },
  };
  return { state, source, change: (c: string | null) => ((state.content = c), state.version++) };
}

describe("RevalidatingCache", () => {
  it("serves within the TTL without touching the store, then revalidates by ETag, then reloads a change", async () => {
    let now = 0;
    const cache = new RevalidatingCache<string>(1000, 5000, () => now);
    const o = object("fit-1");
    expect(await cache.get("k", o.source)).toEqual({ value: "fit-1", outcome: "loaded" });
    now = 4999;
    expect(await cache.get("k", o.source)).toEqual({ value: "fit-1", outcome: "hit" });
    expect([o.state.heads, o.state.loads]).toEqual([0, 1]);
    now = 5000;
    expect(await cache.get("k", o.source)).toEqual({ value: "fit-1", outcome: "revalidated" });
    expect([o.state.heads, o.state.loads]).toEqual([1, 1]);
    o.change("fit-2");
    now = 6000; // within the TTL of the revalidation at 5000: still the old value
    expect((await cache.get("k", o.source)).value).toBe("fit-1");
    now = 10_000;
    expect(await cache.get("k", o.source)).toEqual({ value: "fit-2", outcome: "reloaded" });
    expect([o.state.heads, o.state.loads]).toEqual([2, 2]);
  });

  it("never trusts a remembered absence: checked again (one HEAD) on every request, so an object that appears is seen by the next one", async () => {
    const now = 0;
    const cache = new RevalidatingCache<string>(1000, 100_000, () => now);
    const o = object(null);
    expect((await cache.get("k", o.source)).value).toBeNull();
    expect((await cache.get("k", o.source)).value).toBeNull();
    expect([o.state.loads, o.state.heads]).toEqual([1, 1]);
    o.change("calibrated");
    expect((await cache.get("k", o.source)).value).toBe("calibrated");
    expect(cache.size).toBe(1);
  });

  it("serves an entry, or a remembered absence, confirmed within the stale-if-error window while the store fails, then fails", async () => {
    let now = 0;
    const cache = new RevalidatingCache<string>(1000, 100, () => now, { maxMs: 1000, when: (e) => (e as Error).message === "down" });
    const o = object("fit-1");
    const gone = object(null);
    await cache.get("k", o.source);
    await cache.get("absent", gone.source);
    const failing: CacheSource<string> = { etag: () => Promise.reject(new Error("down")), load: () => Promise.reject(new Error("down")) };
    now = 500;
    expect(await cache.get("k", failing)).toEqual({ value: "fit-1", outcome: "stale" });
    expect(await cache.get("absent", failing)).toEqual({ value: null, outcome: "stale" });
    now = 550; // within the TTL of that failed check: not asked again
    expect(await cache.get("k", failing)).toEqual({ value: "fit-1", outcome: "hit" });
    now = 1001;
    await expect(cache.get("k", failing)).rejects.toThrow("down");
    const other: CacheSource<string> = { etag: () => Promise.reject(new Error("corrupt")), load: () => Promise.reject(new Error("corrupt")) };
    now = 0;
    const fresh = new RevalidatingCache<string>(1000, 0, () => now, { maxMs: 1000, when: (e) => (e as Error).message === "down" });
    await fresh.get("k", o.source);
    await expect(fresh.get("k", other)).rejects.toThrow("corrupt"); // only the failures it is told to cover
  });

  it("forgets an object deleted from the store", async () => {
    let now = 0;
    const cache = new RevalidatingCache<string>(1000, 10, () => now);
    const o = object("x");
    await cache.get("k", o.source);
    o.change(null);
    now = 20;
    expect((await cache.get("k", o.source)).value).toBeNull();
  });

  it("evicts the least recently used entries beyond its byte bound, and never caches what alone exceeds it", async () => {
    const cache = new RevalidatingCache<string>(25, 1e9);
    const a = object("a");
    const b = object("b");
    const c = object("c");
    await cache.get("a", a.source);
    await cache.get("b", b.source);
    await cache.get("a", a.source); // a is now the most recent
    await cache.get("c", c.source); // 30 bytes > 25: b goes
    expect(cache.bytes).toBe(20);
    await cache.get("a", a.source);
    await cache.get("b", b.source);
    expect([a.state.loads, b.state.loads, c.state.loads]).toEqual([1, 2, 1]);
    const huge = object("huge", 26);
    expect((await cache.get("h", huge.source)).value).toBe("huge");
    expect((await cache.get("h", huge.source)).value).toBe("huge");
    expect(huge.state.loads).toBe(2); // not kept
    await cache.get("a", a.source);
    await cache.get("b", b.source);
    expect([a.state.loads, b.state.loads]).toEqual([1, 2]); // and it pushed nothing out
    expect([cache.size, cache.bytes]).toEqual([2, 20]);
  });

  it("says whether it holds a value (not an absence), fresh or due for revalidation", async () => {
    let now = 0;
    const cache = new RevalidatingCache<string>(1000, 5000, () => now);
    const present = object("fit-1");
    const absent = object(null);
    expect(cache.holds("k")).toBe(false);
    await cache.get("k", present.source);
    await cache.get("gone", absent.source);
    now = 10_000; // past the TTL: still held until revalidated
    expect([cache.holds("k"), cache.holds("gone")]).toEqual([true, false]);
    cache.invalidate("k");
    expect(cache.holds("k")).toBe(false);
  });

  it("shares one load between concurrent requests", async () => {
    const cache = new RevalidatingCache<string>(1000, 1000);
    const o = object("x");
    const results = await Promise.all(Array.from({ length: 5 }, () => cache.get("k", o.source)));
    expect(results.every((r) => r.value === "x")).toBe(true);
    expect(o.state.loads).toBe(1);
  });
});
