import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

/** A folder in MVTec AD layout: train/good, test/<type>, ground_truth/<type>/<stem>_mask.png. */
export interface MvtecDataset {
  readonly root: string;
  readonly train: string[];
  /** Test images with their defect type ("good" for defect-free) and ground-truth mask path if any. */
  readonly test: { file: string; type: string; mask: string | null }[];
}

const IMAGE = /\.(png|jpe?g)$/i;

export function readMvtec(root: string): MvtecDataset {
  const list = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => IMAGE.test(f))
          .sort()
      : [];
  const trainDir = path.join(root, "train/good");
  if (!existsSync(trainDir)) throw new Error(`${root}: no train/good folder (MVTec layout expected)`);
  const train = list(trainDir).map((f) => path.join(trainDir, f));
  const testRoot = path.join(root, "test");
  if (!existsSync(testRoot)) throw new Error(`${root}: no test folder`);
  const test: MvtecDataset["test"] = [];
  for (const type of readdirSync(testRoot).sort()) {
    for (const f of list(path.join(testRoot, type))) {
      const stem = f.replace(IMAGE, "");
      const mask = path.join(root, "ground_truth", type, `${stem}_mask.png`);
      test.push({ file: path.join(testRoot, type, f), type, mask: type !== "good" && existsSync(mask) ? mask : null });
    }
  }
  if (train.length === 0 || test.length === 0) throw new Error(`${root}: no training or test images`);
  return { root, train, test };
}
