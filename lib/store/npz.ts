import type { MemoryBank, MemoryMetadata } from "../patchcore/memoryBank";
import { l2NormalizeRows } from "../patchcore/vectors";
import { decodeNpy, encodeNpy, NpyFormatError, type NpyArray } from "./npy";
import { readZip, writeZip, type ZipEntry } from "./zip";
import type { ShortlistBasis } from "../patchcore/knn/shortlistBasis";

/**
 * A memory bank as the old backend stored it: a real NumPy .npz that
 * numpy.load(path, allow_pickle=False) opens, with
 *   emb       float32 [M, D], the L2-normalised memory
 *   token_h   int64 scalar
 *   token_w   int64 scalar
 *   metadata  0-d unicode string ('<U', what np.savez makes of a Python str) holding JSON
 * and, for banks the two-stage search scores, the basis their fit found for it
 * (lib/patchcore/knn/shortlistBasis.ts; numpy and the old backend ignore arrays they do not read):
 *   knn_mean  float32 [D]
 *   knn_basis float32 [rank, D]
 */
export function encodeMemoryNpz(bank: MemoryBank): Buffer {
  const metadata = JSON.stringify(bank.metadata);
  const codePoints = Uint32Array.from([...metadata].map((ch) => ch.codePointAt(0)!));
  return writeZip([
    { name: "emb.npy", data: encodeNpy("<f4", [bank.count, bank.dim], bytesOf(bank.embeddings)) },
    { name: "token_h.npy", data: encodeNpy("<i8", [], new Uint8Array(BigInt64Array.of(BigInt(bank.tokenH)).buffer)) },
    { name: "token_w.npy", data: encodeNpy("<i8", [], new Uint8Array(BigInt64Array.of(BigInt(bank.tokenW)).buffer)) },
    { name: "metadata.npy", data: encodeNpy(`<U${codePoints.length}`, [], new Uint8Array(codePoints.buffer)) },
    ...(bank.shortlistBasis ? basisEntries(bank.shortlistBasis, bank.dim) : []),
  ]);
}

function basisEntries(basis: ShortlistBasis, dim: number): ZipEntry[] {
  return [
    { name: "knn_mean.npy", data: encodeNpy("<f4", [dim], bytesOf(basis.mean)) },
    { name: "knn_basis.npy", data: encodeNpy("<f4", [basis.rank, dim], bytesOf(basis.basis)) },
  ];
}

/** The bytes of a float32 array (a view, no copy). */
function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Reads a memory .npz written by this service or by the old Python backend (numpy). */
export function decodeMemoryNpz(bytes: Uint8Array, options: { asStored?: boolean } = {}): MemoryBank {
  const arrays = new Map<string, NpyArray>();
  for (const entry of readZip(bytes)) {
    const key = entry.name.replace(/\.npy$/, "");
    arrays.set(key, decodeNpy(entry.data, entry.name));
  }
  const emb = arrays.get("emb");
  if (!emb) throw new NpyFormatError("memory", `no "emb" array (arrays: ${[...arrays.keys()].join(", ")})`);
  if (emb.shape.length !== 2 || emb.shape[0]! < 1 || emb.shape[1]! < 1) throw new NpyFormatError("emb", `expected shape [M, D], got [${emb.shape.join(", ")}]`);
  const [count, dim] = emb.shape as [number, number];
  const embeddings = floatArray(emb, count * dim, "emb");
  for (let i = 0; i < embeddings.length; i++) {
    if (!Number.isFinite(embeddings[i]!)) throw new NpyFormatError("emb", `value ${i} is not finite`);
  }
  const tokenH = integerScalar(arrays.get("token_h"), "token_h");
  const tokenW = integerScalar(arrays.get("token_w"), "token_w");
  return {
    // normalising again changes at most the last bits of the memories this service writes, and makes any
    // older file safe; `asStored` keeps the rows as the file holds them (an append copies them unchanged)
    embeddings: options.asStored ? embeddings : l2NormalizeRows(embeddings, dim),
    count,
    dim,
    tokenH,
    tokenW,
    metadata: parseMetadata(arrays.get("metadata")),
    ...storedBasis(arrays, dim),
  };
}

/**
 * The two-stage basis if both arrays are there with the shapes it needs; anything else is ignored
 * (the basis only buys speed: the search finds one itself, and checks a stored one before use).
 */
function storedBasis(arrays: Map<string, NpyArray>, dim: number): { shortlistBasis: ShortlistBasis } | Record<string, never> {
  const mean = arrays.get("knn_mean");
  const basis = arrays.get("knn_basis");
  if (!mean || !basis || mean.descr !== "<f4" || basis.descr !== "<f4") return {};
  const rank = basis.shape[0] ?? 0;
  if (mean.shape.length !== 1 || mean.shape[0] !== dim || basis.shape.length !== 2 || basis.shape[1] !== dim || rank < 1) return {};
  if (mean.data.length < dim * 4 || basis.data.length < rank * dim * 4) return {};
  return { shortlistBasis: { mean: floatArray(mean, dim, "knn_mean"), basis: floatArray(basis, rank * dim, "knn_basis"), rank } };
}

function floatArray(array: NpyArray, length: number, name: string): Float32Array {
  const out = new Float32Array(length);
  if (array.descr === "<f4") {
    if (array.data.length < length * 4) throw new NpyFormatError(name, "data is truncated");
    new Uint8Array(out.buffer).set(array.data.subarray(0, length * 4));
  } else if (array.descr === "<f8") {
    if (array.data.length < length * 8) throw new NpyFormatError(name, "data is truncated");
    const view = new DataView(array.data.buffer, array.data.byteOffset, length * 8);
    for (let i = 0; i < length; i++) out[i] = view.getFloat64(i * 8, true);
  } else {
    throw new NpyFormatError(name, `dtype ${array.descr} is not supported (float32 or float64, little-endian)`);
  }
  return out;
}

const INTEGER_DTYPES: Record<string, (view: DataView) => number> = {
  "<i8": (v) => Number(v.getBigInt64(0, true)),
  "<u8": (v) => Number(v.getBigUint64(0, true)),
  "<i4": (v) => v.getInt32(0, true),
  "<u4": (v) => v.getUint32(0, true),
  "<i2": (v) => v.getInt16(0, true),
  "<u2": (v) => v.getUint16(0, true),
  "|i1": (v) => v.getInt8(0),
  "|u1": (v) => v.getUint8(0),
};

function integerScalar(array: NpyArray | undefined, name: string): number {
  if (!array) throw new NpyFormatError(name, "missing");
  const read = INTEGER_DTYPES[array.descr];
  if (!read) throw new NpyFormatError(name, `dtype ${array.descr} is not an integer type`);
  if (array.shape.reduce((a, b) => a * b, 1) !== 1) throw new NpyFormatError(name, `expected one value, got shape [${array.shape.join(", ")}]`);
  const value = read(new DataView(array.data.buffer, array.data.byteOffset, array.data.byteLength));
  if (!Number.isInteger(value) || value < 1) throw new NpyFormatError(name, `expected a positive integer, got ${value}`);
  return value;
}

function parseMetadata(array: NpyArray | undefined): MemoryMetadata {
  if (!array) return {};
  let text: string;
  const unicode = /^[<|]U(\d+)$/.exec(array.descr);
  if (unicode) {
    const view = new DataView(array.data.buffer, array.data.byteOffset, array.data.byteLength);
    const codePoints: number[] = [];
    for (let i = 0; i < Number(unicode[1]) && (i + 1) * 4 <= array.data.length; i++) {
      const cp = view.getUint32(i * 4, true);
      if (cp === 0) break; // numpy pads shorter strings with NULs
      codePoints.push(cp);
    }
    text = String.fromCodePoint(...codePoints);
  } else if (/^\|S\d+$/.test(array.descr) || array.descr === "|u1") {
    text = Buffer.from(array.data).toString("utf8").replace(/\0+$/, "");
  } else {
    throw new NpyFormatError("metadata", `dtype ${array.descr} is not a string`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as MemoryMetadata) : { raw: text };
  } catch {
    return { raw: text };
  }
}
