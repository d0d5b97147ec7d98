import { z } from "zod";

export const jobAccepted = z
  .object({
    status: z.literal("accepted"),
    job_id: z.string(),
    job_state: z.literal("queued"),
    status_url: z.string().meta({ description: "GET it for the job's state, progress and result." }),
    n_images: z.number().int(),
    estimate_ms: z.number().meta({ description: "The estimate that made it a job: over SYNC_BUDGET_MS." }),
    request_id: z.string(),
  })
  .meta({ id: "JobAccepted", description: "202: the work is too large to answer within one request; it runs as a job." });
export type JobAccepted = z.infer<typeof jobAccepted>;

export const getJobRequest = z
  .object({ id: z.string({ error: "Missing job id" }).regex(/^[0-9a-f-]{36}$/, { error: (issue) => `${JSON.stringify(issue.input)} is not a job id` }) })
  .meta({ id: "GetJobRequest" });
export type GetJobRequest = z.output<typeof getJobRequest>;

export const jobResponse = z
  .object({
    job_id: z.string(),
    kind: z.enum(["fit", "infer_dataset", "calibrate_dataset"]),
    state: z.enum(["queued", "running", "done", "failed"]),
    created_at: z.string(),
    updated_at: z.string(),
    progress: z
      .object({ done: z.number().int(), total: z.number().int(), errors: z.number().int() })
      .meta({ description: "Images done / to do, and item errors so far." }),
    chunks: z
      .object({ total: z.number().int(), done: z.number().int(), retried: z.number().int(), failed: z.number().int() })
      .meta({ description: "Worker invocations." }),
    timings_ms: z.record(z.string(), z.number()),
    result: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: "When done: the response the synchronous call would have given (a batch's items: see result_url)." }),
    result_url: z.string().nullable().meta({ description: "When done, for batch jobs: a short-lived URL of the full result JSON." }),
    error: z.object({ error: z.string(), code: z.string() }).nullable(),
    request_id: z.string(),
  })
  .meta({ id: "JobResponse" });
