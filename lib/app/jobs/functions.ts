import { jobRunnerHandler, workerHandler } from "../../jobs/handlers";
import { calibrateDatasetJob } from "../batch/calibrateDataset";
import { inferDatasetJob } from "../batch/inferDataset";
import { scoreTaskKind } from "../batch/scoreChunk";
import { datasetFitJob } from "../fitting/datasetFit";
import { embedTaskKind } from "../fitting/embedChunk";
import type { Services } from "../services";

/**
 * The fan-out's two functions, composed: the kinds of worker task and of job this service runs,
 * registered with the one mechanism of lib/jobs (which knows none of them).
 */

/** The worker function's handler: embed (a dataset fit's chunk) and score (a batch's chunk). */
export function workerFunction(services: Services) {
  return workerHandler(services.observability, { embed: embedTaskKind(services), score: scoreTaskKind(services) });
}

/** The job runner function's handler: a dataset fit, /infer_dataset and /calibrate_dataset as jobs. */
export function jobRunnerFunction(services: Services) {
  return jobRunnerHandler(services, {
    fit: datasetFitJob(services),
    infer_dataset: inferDatasetJob(services),
    calibrate_dataset: calibrateDatasetJob(services),
  });
}
