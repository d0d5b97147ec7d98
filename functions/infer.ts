import { infer } from "../lib/api/infer";
import { getConfig } from "../lib/config";
import { endpoint } from "../lib/http/endpoint";
import { formOf, multipartBody } from "../lib/http/multipart";

/** POST /infer (multipart/form-data): score one ROI image, heatmap and defect regions. */
export const handler = endpoint("infer", (event, ctx) => infer(event, formOf(event), ctx), [multipartBody(() => getConfig().limits)]);
