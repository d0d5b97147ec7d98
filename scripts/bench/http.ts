import { InspectionClient } from "../../lib/contract/client";
import { startThrowawayStack } from "../local/stack";
import { benchDefect, benchImages } from "./benchImages";
import { measure, summarise, type Summary } from "./stats";

/** Warm /infer through real HTTP: serverless-offline + s3rver, the texture model, a 1k bank. */
export async function benchHttp(root: string, runs: number, model: string): Promise<{ model: string; warmInfer: Summary }> {
  const stack = await startThrowawayStack({ root, bucket: "bench-http", env: { MODEL_NAME: model } });
  try {
    const api = new InspectionClient(stack.url);
    const ids = { role_id: "bench", roi_id: "http", mm_per_px: 0.1 };
    (await api.fitOk({ ...ids, memory_fit: true }, [{ filename: "a.jpg", data: (await benchImages(1, 100))[0]! }])).ok();
    const image = await benchDefect(7);
    const once = async () => {
      (await api.infer(ids, { filename: "x.jpg", data: image })).ok();
    };
    return { model, warmInfer: summarise(await measure(runs, 3, once)) };
  } finally {
    await stack.stop();
  }
}
