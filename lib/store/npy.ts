/**
 * NumPy's .npy format (format.py, versions 1-3): magic "\x93NUMPY", version, header length,
 * a Python dict literal {'descr', 'fortran_order', 'shape'} padded to 64 bytes, then the data.
 */
export interface NpyArray {
  /** numpy dtype string, e.g. "<f4", "<i8", "<U12". */
  readonly descr: string;
  readonly shape: readonly number[];
  /** The raw little-endian data, C order. */
  readonly data: Uint8Array;
}

export class NpyFormatError extends Error {
  constructor(name: string, message: string) {
    super(`${name}: ${message}`);
    this.name = "NpyFormatError";
  }
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Encodes a C-order array as .npy version 1.0 (header padded so data starts 64-byte aligned). */
export function encodeNpy(descr: string, shape: readonly number[], data: Uint8Array): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const prefix = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt8(1, 6);
  prefix.writeUInt8(0, 7);
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, "latin1"), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export function decodeNpy(bytes: Uint8Array, name: string): NpyArray {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new NpyFormatError(name, "not a .npy array (bad magic)");
  const major = buf.readUInt8(6);
  let headerLength: number;
  let start: number;
  if (major === 1) {
    headerLength = buf.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    headerLength = buf.readUInt32LE(8);
    start = 12;
  } else {
    throw new NpyFormatError(name, `unsupported .npy version ${major}`);
  }
  const header = buf.toString(major === 3 ? "utf8" : "latin1", start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new NpyFormatError(name, `unreadable header ${JSON.stringify(header)}`);
  const size = /^[<>|][a-zA-Z](\d+)$/.exec(descr)?.[1];
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const n = Number(s.replace(/L$/, ""));
      if (!Number.isInteger(n) || n < 0) throw new NpyFormatError(name, `bad shape (${shapeText})`);
      return n;
    });
  const data = buf.subarray(start + headerLength);
  if (fortran === "True" && shape.length >= 2) {
    if (shape.length > 2 || size === undefined) throw new NpyFormatError(name, `Fortran-ordered ${shape.length}-d ${descr} arrays are not supported`);
    return { descr, shape, data: columnMajorToRowMajor(data, shape[0]!, shape[1]!, Number(size)) };
  }
  return { descr, shape, data };
}

/** A [rows, cols] array stored column-major (numpy's fortran_order), as C order. */
function columnMajorToRowMajor(data: Uint8Array, rows: number, cols: number, itemBytes: number): Uint8Array {
  const out = new Uint8Array(rows * cols * itemBytes);
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) {
      const from = (c * rows + r) * itemBytes;
      out.set(data.subarray(from, from + itemBytes), (r * cols + c) * itemBytes);
    }
  }
  return out;
}
