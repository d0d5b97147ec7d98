import { CopyObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { encodeId } from "../../lib/store/keys";
import { postForm, s3Of, type FormValue } from "../helpers/api";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { startTestStack, type TestStack } from "../helpers/testStack";

/**
 * With KNN_BACKEND=hnsw the stored index is used, but only the one written by the same fit as
 * the memory: an index from another fit (here copied over it) is ignored and the memory is
 * scored exactly, with the same result as the exact backend.
 */
describe("memory and HNSW index of one fit are never mixed with another fit's", () => {
  let stack: TestStack;
  let s3: S3Client;
  const key = (roi: string, suffix: string) => `models/${encodeId("Pair")}__${encodeId(roi)}${suffix}`;

  beforeAll(async () => {
    stack = await startTestStack({ KNN_BACKEND: "hnsw", CACHE_TTL_MS: "0" });
    s3 = s3Of(stack.s3Endpoint);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("uses its own index, and scores exactly when the index belongs to another fit", async () => {
    const png = async (seed: number, spot = false): Promise<FormValue> => {
      const image = brushedMetal(160, 120, seed);
      return { filename: `${seed}.png`, data: await encodePng(spot ? paintSpot(image, 80, 60, 6) : image) };
    };
    const fit = async (roi: string, seeds: number[]) =>
      postForm(`${stack.url}/fit_ok`, [["role_id", "Pair"], ["roi_id", roi], ["mm_per_px", "0.1"], ...(await Promise.all(seeds.map((s) => png(s)))).map((f): [string, FormValue] => ["images", f])]);
    expect((await fit("A", [1, 2, 3])).body.index).toBe("hnsw");
    expect((await fit("B", [7, 8])).body.index).toBe("hnsw");
    const copy = (from: string, to: string) => s3.send(new CopyObjectCommand({ Bucket: stack.bucket, CopySource: `${stack.bucket}/${from}`, Key: to, MetadataDirective: "COPY" }));
    // C: A's memory with B's index (a fit that wrote its index and died before its memory would
    // leave this); D: A's memory with A's own index
    await copy(key("A", ".npz"), key("C", ".npz"));
    await copy(key("B", "_index.hnsw"), key("C", "_index.hnsw"));
    await copy(key("A", ".npz"), key("D", ".npz"));
    await copy(key("A", "_index.hnsw"), key("D", "_index.hnsw"));

    const probe = await png(30, true);
    const infer = async (roi: string) => (await postForm(`${stack.url}/infer`, [["role_id", "Pair"], ["roi_id", roi], ["mm_per_px", "0.1"], ["image", probe]])).body;
    const own = await infer("A");
    const paired = await infer("D");
    const mixed = await infer("C");
    expect([own.knn, paired.knn, mixed.knn]).toEqual(["hnsw", "hnsw", "exact"]);
    // all three score A's memory; HNSW at ef 64 on a small bank finds the same neighbours
    expect(mixed.score).toBeCloseTo(own.score, 4);
    expect(paired.score).toBeCloseTo(own.score, 6);
  }, 60_000);
});
