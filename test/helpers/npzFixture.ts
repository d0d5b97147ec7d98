import { readFileSync } from "node:fs";
import { decodeNpy } from "../../lib/store/npy";
import { readZip } from "../../lib/store/zip";

/** One array of a fixture .npz, with its data as the typed array of its dtype. */
export interface FixtureArray {
  readonly shape: number[];
  readonly data: Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;
}

const VIEWS: Record<string, (b: ArrayBuffer) => FixtureArray["data"]> = {
  "<f4": (b) => new Float32Array(b),
  "<f8": (b) => new Float64Array(b),
  "|u1": (b) => new Uint8Array(b),
  "<i4": (b) => new Int32Array(b),
  "<i8": (b) => new BigInt64Array(b),
};

/** Reads a numpy .npz fixture (np.savez / np.savez_compressed) into typed arrays by key. */
export function loadNpz(path: string): Map<string, FixtureArray> {
  const arrays = new Map<string, FixtureArray>();
  for (const entry of readZip(readFileSync(path))) {
    const npy = decodeNpy(entry.data, entry.name);
    const view = VIEWS[npy.descr];
    if (!view) throw new Error(`${path}: ${entry.name} has dtype ${npy.descr}, not one the fixtures use`);
    const copy = new Uint8Array(npy.data.length); // an owned, aligned buffer (Buffer#slice would be a view)
    copy.set(npy.data);
    arrays.set(entry.name.replace(/\.npy$/, ""), { shape: [...npy.shape], data: view(copy.buffer) });
  }
  return arrays;
}

/** The array `key` of a loaded fixture, or a clear error. */
export function fixtureArray<T extends FixtureArray["data"]>(arrays: Map<string, FixtureArray>, key: string): { shape: number[]; data: T } {
  const a = arrays.get(key);
  if (!a) throw new Error(`fixture has no array ${key} (has ${[...arrays.keys()].join(", ")})`);
  return a as { shape: number[]; data: T };
}
