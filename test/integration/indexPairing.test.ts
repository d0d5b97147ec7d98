import { CopyObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { InspectionClient, type ImageFile } from "../../lib/contract/client";
import { encodeId } from "../../lib/store/keys";
import { bucketSnapshot, s3Of } from "../helpers/api";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { startTestStack, type TestStack } from "../helpers/testStack";

/**
 * With KNN_BACKEND=hnsw each fit stores its index under a key named by its fit id, which the
 * memory names; only that index, and only if it says it was written by that fit, is used. An
 * index from another fit (here copied into place) is ignored and the memory is scored exactly.
 * C and D are memories dropped in under the name stored before versions (served as version 1).
 */
describe("memory and HNSW index of one fit are never mixed with another fit's", () => {
  let stack: TestStack;
  let s3: S3Client;
  let api: InspectionClient;
  const base = (roi: string) => `models/${encodeId("Pair")}__${encodeId(roi)}`;

  beforeAll(async () => {
    stack = await startTestStack({ KNN_BACKEND: "hnsw", CACHE_TTL_MS: "0" });
    s3 = s3Of(stack.s3Endpoint);
    api = new InspectionClient(stack.url, { validate: true });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("uses its own index, scores exactly when the index belongs to another fit, and removes an index with its version", async () => {
    const png = async (seed: number, spot = false): Promise<ImageFile> => {
      const image = brushedMetal(160, 120, seed);
      return { filename: `${seed}.png`, data: await encodePng(spot ? paintSpot(image, 80, 60, 6) : image) };
    };
    const fit = async (roi: string, seeds: number[]) =>
      (await api.fitOk({ role_id: "Pair", roi_id: roi, mm_per_px: 0.1 }, await Promise.all(seeds.map((s) => png(s))))).ok();
    const a = await fit("A", [1, 2, 3]);
    const b = await fit("B", [7, 8]);
    expect([a.index, b.index]).toEqual(["hnsw", "hnsw"]);
    const stored = Object.keys(await bucketSnapshot(s3, stack.bucket));
    expect(stored).toEqual(
      expect.arrayContaining([`${base("A")}_fit.${a.fit_id}.npz`, `${base("A")}_index.${a.fit_id}.hnsw`, `${base("B")}_index.${b.fit_id}.hnsw`]),
    );
    const copy = (from: string, to: string) =>
      s3.send(new CopyObjectCommand({ Bucket: stack.bucket, CopySource: `${stack.bucket}/${from}`, Key: to, MetadataDirective: "COPY" }));
    // C: A's memory, and B's index put where A's index would be; D: A's memory with A's own index
    await copy(`${base("A")}_fit.${a.fit_id}.npz`, `${base("C")}.npz`);
    await copy(`${base("B")}_index.${b.fit_id}.hnsw`, `${base("C")}_index.${a.fit_id}.hnsw`);
    await copy(`${base("A")}_fit.${a.fit_id}.npz`, `${base("D")}.npz`);
    await copy(`${base("A")}_index.${a.fit_id}.hnsw`, `${base("D")}_index.${a.fit_id}.hnsw`);

    const probe = await png(30, true);
    const infer = async (roi: string) => (await api.infer({ role_id: "Pair", roi_id: roi, mm_per_px: 0.1 }, probe)).ok();
    const own = await infer("A");
    const paired = await infer("D");
    const mixed = await infer("C");
    expect([own.knn, paired.knn, mixed.knn]).toEqual(["hnsw", "hnsw", "exact"]);
    // all three score A's memory; HNSW at ef 64 on a small bank finds the same neighbours
    expect(mixed.score).toBeCloseTo(own.score, 4);
    expect(paired.score).toBeCloseTo(own.score, 6);

    // a re-fit of A is version 2: version 1 keeps its memory and index (for a rollback) until it is deleted
    const again = await fit("A", [4, 5]);
    const ofA = async () => Object.keys(await bucketSnapshot(s3, stack.bucket)).filter((k) => k.startsWith(`${base("A")}_`));
    const v1 = [`${base("A")}_fit.${a.fit_id}.npz`, `${base("A")}_index.${a.fit_id}.hnsw`];
    const v2 = [`${base("A")}_fit.${again.fit_id}.npz`, `${base("A")}_index.${again.fit_id}.hnsw`];
    expect((await ofA()).sort()).toEqual([...v1, ...v2, `${base("A")}_versions.json`].sort());
    expect((await api.deleteModelVersion({ role_id: "Pair", roi_id: "A", version: 1 })).ok()).toMatchObject({ deleted: true, version: 1 });
    expect((await ofA()).sort()).toEqual([...v2, `${base("A")}_versions.json`].sort());
    expect((await infer("A")).knn).toBe("hnsw");
  }, 60_000);
});
