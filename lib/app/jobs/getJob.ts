import type { GetJobRequest } from "../../contract/jobs";
import type { ResultOf, Routes } from "../../contract/routes";
import type { UseCaseContext } from "../../context";
import { NotFoundError } from "../../errors";
import { RESULT_URL_SECONDS } from "../../jobs/start";
import type { Services } from "../services";

/** Job kinds whose full result is a separate object (GET /jobs/{id} links it as result_url). */
const BATCH_KINDS = new Set(["infer_dataset", "calibrate_dataset"]);

/** GET /jobs/{id}: a job's state, progress and result. */
export async function getJob(services: Services, input: GetJobRequest, ctx: UseCaseContext): Promise<ResultOf<Routes["getJob"]>> {
  const job = await services.jobs.load(input.id, ctx.timings);
  if (!job) throw new NotFoundError(`No job ${input.id}`);
  const batch = BATCH_KINDS.has(job.kind) && job.state === "done";
  return {
    job_id: job.id,
    kind: job.kind as ResultOf<Routes["getJob"]>["kind"],
    state: job.state,
    created_at: job.created_at,
    updated_at: job.updated_at,
    progress: job.progress,
    chunks: job.chunks,
    timings_ms: job.timings_ms,
    result: job.result,
    result_url: batch ? await services.jobs.resultUrl(job.id, RESULT_URL_SECONDS) : null,
    error: job.error,
  };
}
