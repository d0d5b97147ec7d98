import { fitOk } from "../lib/app/fitting/fitOk";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed, ONNX session load started.
const services = createServices(undefined, { loadModelNow: true });

/** POST /fit_ok (multipart/form-data): fit the PatchCore memory of a ROI on good images. */
export const handler = httpRoute(routes.fitOk, services.edge, (input, ctx) => fitOk(services, input, ctx));
