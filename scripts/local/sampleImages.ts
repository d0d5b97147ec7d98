/**
 * Writes sample ROI images for trying the API (README): synthetic brushed metal, 320x200,
 * five good ones to fit on, one more good one and one with a painted rust spot at (250, 150).
 * Usage: tsx scripts/local/sampleImages.ts [folder]
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { brushedMetal, encodePng, paintSpot } from "../synthetic/images";

async function main(): Promise<void> {
  const dir = path.resolve(process.argv[2] ?? "test_images");
  await mkdir(dir, { recursive: true });
  for (let seed = 1; seed <= 5; seed++) await writeFile(path.join(dir, `good_${seed}.png`), await encodePng(brushedMetal(320, 200, seed)));
  await writeFile(path.join(dir, "good_test.png"), await encodePng(brushedMetal(320, 200, 20)));
  await writeFile(path.join(dir, "defect_test.png"), await encodePng(paintSpot(brushedMetal(320, 200, 21), 250, 150, 9)));
  console.log(`wrote 7 sample ROI images to ${dir}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
