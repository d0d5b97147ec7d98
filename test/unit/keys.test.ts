import { InvalidInputError } from "../../lib/errors";
import { decodeId, encodeId, modelIdentity, modelKeys } from "../../lib/store/keys";

describe("model keys", () => {
  it("encodes ids as URL-safe base64 without padding (the old backend's scheme)", () => {
    expect(encodeId("Master1")).toBe("TWFzdGVyMQ");
    expect(encodeId("Pattern")).toBe("UGF0dGVybg");
    expect(encodeId("a/b?c")).toBe("YS9iP2M");
    expect(encodeId("ñ漢😀")).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeId(encodeId("ñ漢😀 / ../x"))).toBe("ñ漢😀 / ../x");
  });

  it("names the artefacts of a model under the prefix: versions, each fit's memory and index, and the old backend's names", () => {
    const keys = modelKeys("models/", modelIdentity("Master1", "Pattern"));
    expect(keys).toMatchObject({
      versions: "models/TWFzdGVyMQ__UGF0dGVybg_versions.json",
      legacyMemory: "models/TWFzdGVyMQ__UGF0dGVybg.npz",
      legacyCalibration: "models/TWFzdGVyMQ__UGF0dGVybg_calib.json",
      legacyHnswIndex: "models/TWFzdGVyMQ__UGF0dGVybg_index.hnsw",
    });
    expect(keys.memoryFor("f1")).toBe("models/TWFzdGVyMQ__UGF0dGVybg_fit.f1.npz");
    expect(keys.hnswIndexFor("f1")).toBe("models/TWFzdGVyMQ__UGF0dGVybg_index.f1.hnsw");
  });

  it("refuses ids whose stored names would be over a file name's 255 bytes or S3's 1024, up front, with both limits", () => {
    // 256-byte ids are valid one by one, but two of them make a 734-byte file name
    const long = "é".repeat(128);
    expect(() => modelKeys("models/", modelIdentity(long, long))).toThrow(
      /would be 734 bytes per name .* over the limits of 255 bytes per name and 1024 bytes in all/,
    );
    expect(() => modelKeys("models/", modelIdentity("r", "roi", undefined, long))).toThrow(/too long to be stored together/);
    // the longest that fit: 75 + 75 bytes -> 100 + 100 characters + "__" + "_index.<uuid>.hnsw"
    expect(modelKeys("models/", modelIdentity("a".repeat(75), "b".repeat(75))).legacyMemory.length).toBe(7 + 100 + 2 + 100 + 4);
    expect(() => modelKeys("models/", modelIdentity("a".repeat(78), "b".repeat(78)))).toThrow(InvalidInputError);
  });

  it("keeps every id inside the prefix and apart from the others, whatever it contains", () => {
    const hostile = ["../../etc/passwd", "x__y", "a\\b", "%2e%2e/", "models/other", "  ", "__"];
    const seen = new Set<string>();
    for (const role of hostile)
      for (const roi of hostile) {
        const { legacyMemory: memory } = modelKeys("models/", modelIdentity(role, roi));
        expect(memory).toMatch(/^models\/[A-Za-z0-9_-]+__[A-Za-z0-9_-]+\.npz$/);
        expect(memory.includes("..")).toBe(false);
        seen.add(memory);
      }
    expect(seen.size).toBe(hostile.length ** 2);
  });

  it("defaults model_key to roi_id and recipe_id to default; another recipe gets its own folder", () => {
    expect(modelIdentity("r", "roi")).toEqual({ roleId: "r", roiId: "roi", modelKey: "roi", recipeId: "default" });
    expect(modelKeys("models/", modelIdentity("r", "roi", "alt")).legacyMemory).toBe(`models/${encodeId("r")}__${encodeId("alt")}.npz`);
    expect(modelKeys("models/", modelIdentity("r", "roi", undefined, "batch-7")).legacyMemory).toBe(
      `models/recipes/${encodeId("batch-7")}/${encodeId("r")}__${encodeId("roi")}.npz`,
    );
  });

  it.each([
    [["", "roi"], /role_id must not be empty/],
    [["r", ""], /roi_id must not be empty/],
    [["r", "roi", undefined, "last"], /recipe_id "last" is reserved/],
    [["x".repeat(257), "roi"], /role_id is longer than 256 bytes/],
    [["r", "a\u0000b"], /roi_id must not contain NUL/],
  ] as [Parameters<typeof modelIdentity>, RegExp][])("rejects %j", (args, message) => {
    expect(() => modelIdentity(...args)).toThrow(InvalidInputError);
    expect(() => modelIdentity(...args)).toThrow(message);
  });
});
