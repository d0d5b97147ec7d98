import { workerFunction } from "../lib/app/jobs/functions";
import { createServices } from "../lib/app/services";

// Composition root, run during Lambda INIT: config parsed, ONNX session load started.
const services = createServices(undefined, { loadModelNow: true });

/** The fan-out worker (invoked by coordinators through the Lambda API, no HTTP route): one chunk per invocation. */
export const handler = workerFunction(services);
