import { getJob } from "../lib/app/jobs/getJob";
import { createServices } from "../lib/app/services";
import { routes } from "../lib/contract/routes";
import { httpRoute } from "../lib/http/route";

// Composition root, run during Lambda INIT: config parsed.
const services = createServices();

/** GET /jobs/{id}: a job's state, progress, timings, and its result or error. */
export const handler = httpRoute(routes.getJob, services.edge, (input, ctx) => getJob(services, input, ctx));
