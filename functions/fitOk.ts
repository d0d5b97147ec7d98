import { fitOk } from "../lib/api/fitOk";
import { getConfig } from "../lib/config";
import { endpoint } from "../lib/http/endpoint";
import { formOf, multipartBody } from "../lib/http/multipart";

/** POST /fit_ok (multipart/form-data): fit the PatchCore memory of a ROI on good images. */
export const handler = endpoint("fit_ok", (event, ctx) => fitOk(event, formOf(event), ctx), [multipartBody(() => getConfig().limits)]);
