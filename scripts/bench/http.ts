import { startThrowawayStack } from "../local/stack";
import { imageForm } from "../util/cli";
import { benchDefect, benchImages } from "./benchImages";
import { measure, summarise, type Summary } from "./stats";

/** Warm /infer through real HTTP: serverless-offline + s3rver, the texture model, a 1k bank. */
export async function benchHttp(root: string, runs: number, model: string): Promise<{ model: string; warmInfer: Summary }> {
  const stack = await startThrowawayStack({ root, bucket: "bench-http", env: { MODEL_NAME: model } });
  try {
    const fit = imageForm({ role_id: "bench", roi_id: "http", mm_per_px: "0.1", memory_fit: "true" }, [{ field: "images", name: "a.jpg", data: (await benchImages(1, 100))[0]! }]);
    const fitted = await fetch(`${stack.url}/fit_ok`, { method: "POST", body: fit });
    if (fitted.status !== 200) throw new Error(`bench fit answered ${fitted.status}: ${await fitted.text()}`);
    const image = await benchDefect(7);
    const once = async () => {
      const form = imageForm({ role_id: "bench", roi_id: "http", mm_per_px: "0.1" }, [{ field: "image", name: "x.jpg", data: image }]);
      const res = await fetch(`${stack.url}/infer`, { method: "POST", body: form });
      if (res.status !== 200) throw new Error(`bench infer answered ${res.status}`);
      await res.arrayBuffer();
    };
    return { model, warmInfer: summarise(await measure(runs, 3, once)) };
  } finally {
    await stack.stop();
  }
}
