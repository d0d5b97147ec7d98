import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { MemoryBank } from "../../lib/patchcore/memoryBank";
import { decodeNpy, encodeNpy, NpyFormatError } from "../../lib/store/npy";
import { decodeMemoryNpz, encodeMemoryNpz } from "../../lib/store/npz";
import { readZip, writeZip, ZipFormatError } from "../../lib/store/zip";

const fixtures = path.join(__dirname, "../fixtures");
const fixture = (name: string) => readFileSync(path.join(fixtures, name));
const expectedMetadata = {
  model_id: "vit_small_patch14_dinov2.lvd142m",
  coreset_rate_requested: 0.02,
  note: "fitted on ROI \u00e9t\u00e9 \u6f22 \u{1F600}",
};

/** The bank behind ts_written_memory.npz, which numpy.load(allow_pickle=False) was checked to open. */
function goldenBank(): MemoryBank {
  const embeddings = Float32Array.from({ length: 5 * 3 }, (_, i) => [0.6, 0.8, 0][i % 3]!); // 5 unit rows
  return { embeddings, count: 5, dim: 3, tokenH: 1, tokenW: 5, metadata: { model_id: "texture-s14-v1", fit_id: "golden", note: "\u00e9\u6f22\u{1F600}" } };
}

describe("npz: memories written by numpy (the old backend) load", () => {
  const emb = decodeNpy(fixture("old_backend_memory_emb.npy"), "emb");
  const expected = new Float32Array(new Uint8Array(emb.data).buffer);

  it.each([
    ["old_backend_memory.npz (np.savez, ZIP64 headers, float32, int64)"],
    ["old_backend_memory_compressed.npz (np.savez_compressed, float64, int32)"],
    ["old_backend_memory_fortran.npz (np.asfortranarray: column-major emb)"],
  ])("%s", (name) => {
    const bank = decodeMemoryNpz(fixture(name.split(" ")[0]!));
    expect([bank.count, bank.dim, bank.tokenH, bank.tokenW]).toEqual([6, 4, 2, 3]);
    for (let i = 0; i < expected.length; i++) expect(bank.embeddings[i]).toBeCloseTo(expected[i]!, 6);
    expect(bank.metadata).toEqual(expectedMetadata);
  });
});

describe("npz: memories written here open in numpy", () => {
  const golden = path.join(fixtures, "ts_written_memory.npz");

  it("writes byte for byte the archive numpy.load(allow_pickle=False) was checked to open", () => {
    const bytes = encodeMemoryNpz(goldenBank());
    // regenerate only on purpose, then re-check it with test/fixtures/make_npz_fixtures.py (numpy)
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, bytes);
    expect(bytes.equals(fixture("ts_written_memory.npz"))).toBe(true);
  });

  it("round-trips a bank", () => {
    const bank = goldenBank();
    const back = decodeMemoryNpz(encodeMemoryNpz(bank));
    expect(back).toEqual({ ...bank, embeddings: back.embeddings });
    expect(Array.from(back.embeddings)).toEqual(Array.from(bank.embeddings));
  });

  it("aligns .npy data to 64 bytes, as numpy does", () => {
    const npy = encodeNpy("<f4", [2, 3], new Uint8Array(24));
    expect((npy.length - 24) % 64).toBe(0);
    expect(decodeNpy(npy, "x")).toMatchObject({ descr: "<f4", shape: [2, 3] });
    expect(decodeNpy(encodeNpy("<i8", [], new Uint8Array(8)), "x").shape).toEqual([]);
    expect(decodeNpy(encodeNpy("<i8", [7], new Uint8Array(56)), "x").shape).toEqual([7]);
  });
});

describe("npz: what is not a memory is refused with a reason", () => {
  const zipOf = (arrays: Record<string, Buffer>) => writeZip(Object.entries(arrays).map(([name, data]) => ({ name: `${name}.npy`, data })));
  const scalar = (v: number) => encodeNpy("<i8", [], new Uint8Array(BigInt64Array.of(BigInt(v)).buffer));
  const floats = (rows: number, dim: number, descr = "<f4") =>
    encodeNpy(descr, [rows, dim], new Uint8Array(rows * dim * (descr === "<f8" ? 8 : descr === "<f2" ? 2 : 4)));

  it.each<[string, () => Uint8Array, RegExp | typeof ZipFormatError]>([
    ["random bytes", () => Buffer.from("not a zip at all"), /no end of central directory/],
    ["a truncated archive", () => fixture("old_backend_memory.npz").subarray(0, 900), ZipFormatError],
    ["no emb", () => zipOf({ token_h: scalar(2), token_w: scalar(2) }), /no "emb" array/],
    ["1-D emb", () => zipOf({ emb: encodeNpy("<f4", [4], new Uint8Array(16)), token_h: scalar(2), token_w: scalar(2) }), /expected shape \[M, D\]/],
    ["float16 emb", () => zipOf({ emb: floats(2, 2, "<f2"), token_h: scalar(1), token_w: scalar(2) }), /dtype <f2 is not supported/],
    ["no token_w", () => zipOf({ emb: floats(2, 2), token_h: scalar(1) }), /token_w: missing/],
    ["token_h of 0", () => zipOf({ emb: floats(2, 2), token_h: scalar(0), token_w: scalar(2) }), /token_h: expected a positive integer/],
    [
      "a NaN in emb",
      () => zipOf({ emb: encodeNpy("<f4", [1, 2], new Uint8Array(Float32Array.of(NaN, 1).buffer)), token_h: scalar(1), token_w: scalar(1) }),
      /value 0 is not finite/,
    ],
  ])("%s", (_name, make, message) => {
    expect(() => decodeMemoryNpz(make())).toThrow(message);
  });

  it("round-trips the two-stage basis, and ignores one that is incomplete or of the wrong shape", () => {
    const bank = goldenBank();
    const shortlistBasis = { mean: Float32Array.of(0.1, 0.2, 0.3), basis: Float32Array.of(1, 0, 0, 0, 1, 0), rank: 2 };
    const withBasis = encodeMemoryNpz({ ...bank, shortlistBasis });
    expect(readZip(withBasis).map((e) => e.name)).toEqual(["emb.npy", "token_h.npy", "token_w.npy", "metadata.npy", "knn_mean.npy", "knn_basis.npy"]);
    const read = decodeMemoryNpz(withBasis);
    expect(read.shortlistBasis).toEqual(shortlistBasis);
    expect(Array.from(read.embeddings)).toEqual(Array.from(bank.embeddings));
    expect(decodeMemoryNpz(encodeMemoryNpz(bank)).shortlistBasis).toBeUndefined();
    const entries = readZip(withBasis);
    const without = (name: string) => writeZip(entries.filter((e) => e.name !== name));
    const replaced = (name: string, data: Buffer) => writeZip(entries.map((e) => (e.name === name ? { name, data } : e)));
    for (const spoilt of [
      without("knn_mean.npy"),
      without("knn_basis.npy"),
      replaced("knn_mean.npy", encodeNpy("<f4", [2], new Uint8Array(Float32Array.of(0, 0).buffer))),
      replaced("knn_basis.npy", encodeNpy("<f4", [2, 2], new Uint8Array(new Float32Array(4).buffer))),
      replaced("knn_basis.npy", encodeNpy("<f8", [2, 3], new Uint8Array(new Float64Array(6).buffer))),
      replaced("knn_basis.npy", encodeNpy("<f4", [2, 3], new Uint8Array(new Float32Array(4).buffer))), // truncated
    ]) {
      const decoded = decodeMemoryNpz(spoilt);
      expect(decoded.shortlistBasis).toBeUndefined();
      expect(decoded.count).toBe(5);
    }
  });

  it("detects a flipped byte by CRC", () => {
    const bytes = Buffer.from(fixture("old_backend_memory.npz"));
    const entries = readZip(bytes);
    expect(entries.map((e) => e.name).sort()).toEqual(["emb.npy", "metadata.npy", "token_h.npy", "token_w.npy"]);
    const at = bytes.indexOf(Buffer.from("NUMPY")) + 200; // inside the first array's data
    bytes[at] = bytes[at]! ^ 0xff;
    expect(() => readZip(bytes)).toThrow(/fails its CRC check/);
  });

  it("reads a 2-d Fortran-ordered array in C order, and rejects a 3-d one", () => {
    const fortran = (shape: number[], values: number[]) =>
      Buffer.from(
        encodeNpy("<f4", shape, new Uint8Array(Float32Array.from(values).buffer))
          .toString("latin1")
          .replace("'fortran_order': False", "'fortran_order': True "),
        "latin1",
      );
    // [[1, 2, 3], [4, 5, 6]] stored column by column
    expect(Array.from(new Float32Array(new Uint8Array(decodeNpy(fortran([2, 3], [1, 4, 2, 5, 3, 6]), "emb").data).buffer))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => decodeNpy(fortran([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]), "emb")).toThrow(NpyFormatError);
  });
});
