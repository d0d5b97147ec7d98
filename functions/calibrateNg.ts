import { calibrateFromScores } from "../lib/app/calibration/calibrateScores";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed (no ONNX model needed here).
const services = createServices();

/** POST /calibrate_ng (application/json): threshold from OK/NG scores. */
export const handler = httpRoute(routes.calibrateNg, services.edge, (input, ctx) => calibrateFromScores(services, input, ctx));
