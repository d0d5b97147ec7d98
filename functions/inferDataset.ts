import { inferDatasetOrStartJob } from "../lib/app/batch/inferDataset";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed; the workers run the model.
const services = createServices();

/** POST /infer_dataset (application/json): score a stored dataset, fanned out over worker invocations. */
export const handler = httpRoute(routes.inferDataset, services.edge, (input, ctx) => inferDatasetOrStartJob(services, input, ctx));
