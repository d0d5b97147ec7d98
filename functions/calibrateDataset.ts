import { calibrateDatasetOrStartJob } from "../lib/app/batch/calibrateDataset";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed; the workers run the model.
const services = createServices();

/** POST /calibrate_dataset (application/json): calibrate from the stored OK/NG images, fanned out over worker invocations. */
export const handler = httpRoute(routes.calibrateDataset, services.edge, (input, ctx) => calibrateDatasetOrStartJob(services, input, ctx));
