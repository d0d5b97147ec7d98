import type { GetJobRequest } from "../../contract/jobs";
import type { ResultOf, Routes } from "../../contract/routes";
import type { UseCaseContext } from "../../context";
import { NotFoundError } from "../../errors";
import { RESULT_URL_SECONDS } from "../../jobs/start";
import type { Services } from "../services";

/** Job kinds whose full result is a separate object (GET /jobs/{id} links it as result_url). */
const BATCH_KINDS = new Set(["infer_dataset", "calibrate_dataset"]);

/** How long past the runner's timeout a job may still say queued or running (clocks, the runner's own last write), ms. */
const DEADLINE_SLACK_MS = 60_000;

/**
 * GET /jobs/{id}: a job's state, progress and result. A job still queued or running past its
 * runner's timeout is reported failed (code time_budget): its runner was stopped (timeout, out of
 * memory) or never started, and nothing else would ever say so.
 */
export async function getJob(services: Services, input: GetJobRequest, ctx: UseCaseContext): Promise<ResultOf<Routes["getJob"]>> {
  const job = await services.jobs.load(input.id, ctx.timings);
  if (!job) throw new NotFoundError(`No job ${input.id}`);
  const batch = BATCH_KINDS.has(job.kind) && job.state === "done";
  const limitS = services.config.fanOut.jobRunnerTimeoutS;
  const lost = (job.state === "queued" || job.state === "running") && Date.now() - Date.parse(job.created_at) > limitS * 1000 + DEADLINE_SLACK_MS;
  return {
    job_id: job.id,
    kind: job.kind as ResultOf<Routes["getJob"]>["kind"],
    state: lost ? "failed" : job.state,
    created_at: job.created_at,
    updated_at: job.updated_at,
    progress: job.progress,
    chunks: job.chunks,
    timings_ms: job.timings_ms,
    result: job.result,
    result_url: batch ? await services.jobs.resultUrl(job.id, RESULT_URL_SECONDS) : null,
    error: lost
      ? {
          code: "time_budget",
          error: `The job did not finish within its runner's ${limitS} s (it was stopped, or never started): nothing it did was committed; start it again, or split the work (fewer images per job)`,
        }
      : job.error,
  };
}
