import { calibrateNg } from "../lib/api/calibrateNg";
import { getConfig } from "../lib/config";
import { endpoint } from "../lib/http/endpoint";
import { jsonBody, jsonOf } from "../lib/http/jsonBody";

/** POST /calibrate_ng (application/json): threshold from OK/NG scores. */
export const handler = endpoint("calibrate_ng", (event, ctx) => calibrateNg(event, jsonOf(event), ctx), [jsonBody(() => getConfig().limits.maxRequestBytes)]);
