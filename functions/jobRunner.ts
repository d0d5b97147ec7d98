import { jobRunnerFunction } from "../lib/app/jobs/functions";
import { createServices } from "../lib/app/services";

// Composition root, run during Lambda INIT: config parsed (the coordinator merges partial coresets on onnxruntime).
const services = createServices();

/** A job's coordinator (invoked asynchronously by the route that started the job). */
export const handler = jobRunnerFunction(services);
