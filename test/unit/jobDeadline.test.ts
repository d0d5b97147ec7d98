import path from "node:path";
import { randomUUID } from "node:crypto";
import { getJob } from "../../lib/app/jobs/getJob";
import { createServices } from "../../lib/app/services";
import { loadConfig } from "../../lib/config";
import { standaloneContext } from "../../lib/context";
import { createLogger } from "../../lib/log";
import type { Job } from "../../lib/store/jobRepository";
import { MemoryBlobStore } from "../../lib/store/memoryBlobStore";
import { Timings } from "../../lib/util/timings";
import { PROJECT_ROOT } from "../helpers/testStack";

/** GET /jobs/{id} for a job whose runner was stopped (its timeout, out of memory) or never started: nothing else would ever say so. */
describe("a job past its runner's timeout", () => {
  const services = createServices(
    loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), MODEL_NAME: "texture-s14", LOG_LEVEL: "silent", JOB_RUNNER_TIMEOUT_S: "600" }),
    { blobStore: new MemoryBlobStore() },
  );
  const ctx = () => standaloneContext(createLogger("silent"));
  const stored = async (state: Job["state"], ageS: number) => {
    const created = new Date(Date.now() - ageS * 1000).toISOString();
    const job: Job = {
      id: randomUUID(),
      kind: "fit_dataset",
      state,
      created_at: created,
      updated_at: created,
      command: {},
      progress: { done: 3, total: 10, errors: 0 },
      chunks: { total: 2, done: 1, retried: 0, failed: 0 },
      timings_ms: {},
      result: null,
      error: state === "failed" ? { error: "a worker failed twice", code: "unavailable" } : null,
    };
    await services.jobs.save(job, new Timings());
    return getJob(services, { id: job.id }, ctx());
  };

  it("is reported failed (time_budget) once queued or running a minute past the timeout, saying what to do", async () => {
    for (const state of ["queued", "running"] as const) {
      const late = await stored(state, 600 + 61);
      expect([late.state, late.error?.code]).toEqual(["failed", "time_budget"]);
      expect(late.error?.error).toBe(
        "The job did not finish within its runner's 600 s (it was stopped, or never started): nothing it did was committed; start it again, or split the work (fewer images per job)",
      );
      expect(late.progress).toEqual({ done: 3, total: 10, errors: 0 });
    }
  });

  it("is reported as stored before that, and a finished job's state is never changed", async () => {
    expect((await stored("running", 600 + 50)).state).toBe("running");
    expect((await stored("queued", 5)).state).toBe("queued");
    const failed = await stored("failed", 3600);
    expect([failed.state, failed.error]).toEqual(["failed", { error: "a worker failed twice", code: "unavailable" }]);
  });
});
