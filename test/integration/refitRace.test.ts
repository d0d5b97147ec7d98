import { InspectionClient, type ImageFile } from "../../lib/contract/client";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { sharedStack, type TestStack } from "../helpers/testStack";

/**
 * Re-fits of two different models on one key, alternating, while two clients infer on that key:
 * every answer must be model A's score or model B's, to the last bit (never a mix of one fit's
 * memory with another's, never a torn read), and no request may fail.
 */
describe("re-fits racing inferences on one key", () => {
  let stack: TestStack;
  let api: InspectionClient;

  beforeAll(async () => {
    stack = await sharedStack("main"); // CACHE_TTL_MS=0: every inference sees the latest fit
    api = new InspectionClient(stack.url);
  }, 180_000);

  it("answers only A's or B's exact score, with no 5xx", async () => {
    const png = async (seed: number): Promise<ImageFile> => ({ filename: `${seed}.png`, data: await encodePng(brushedMetal(160, 120, seed)) });
    const imagesA = await Promise.all([1, 2, 3].map(png));
    const imagesB = await Promise.all([7, 8].map(png));
    const probe: ImageFile = { filename: "probe.png", data: await encodePng(paintSpot(brushedMetal(160, 120, 30), 80, 60, 6)) };
    const fit = (roi: string, images: ImageFile[]) => api.fitOk({ role_id: "Race", roi_id: roi, mm_per_px: 0.1 }, images);
    const score = async (roi: string) => (await api.infer({ role_id: "Race", roi_id: roi, mm_per_px: 0.1 }, probe)).ok().score;
    // the references: the same fits (deterministic: seeded coreset) under keys nobody re-fits
    (await fit("refA", imagesA)).ok();
    (await fit("refB", imagesB)).ok();
    const expected = new Set([await score("refA"), await score("refB")]);
    expect(expected.size).toBe(2);

    (await fit("shared", imagesA)).ok();
    let refitting = true;
    const statuses: number[] = [];
    const scores: number[] = [];
    const refits = (async () => {
      for (let i = 0; i < 12; i++) statuses.push((await fit("shared", i % 2 === 0 ? imagesB : imagesA)).status);
      refitting = false;
    })();
    const client = async () => {
      while (refitting) {
        const res = await api.infer({ role_id: "Race", roi_id: "shared", mm_per_px: 0.1 }, probe);
        statuses.push(res.status);
        if (res.status === 200) scores.push(res.ok().score);
      }
    };
    await Promise.all([refits, client(), client()]);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(scores.length).toBeGreaterThan(12);
    expect(scores.filter((s) => !expected.has(s))).toEqual([]);
    expect(new Set(scores).size).toBe(2); // both models were seen
  }, 120_000);
});
