import type { UseCaseContext } from "../context";
import { fanOut, type ChunkOutcome } from "./fanOut";
import type { JobProgress } from "./progress";
import type { JobServices } from "./jobServices";
import type { WorkerResult, WorkerTask } from "./tasks";

/**
 * A coordinator's fan-out: every task to a worker invocation, FANOUT_WIDTH at a time, each
 * retried once, the job's progress written as chunks settle. Outcomes in task order.
 */
export async function runOnWorkers(
  services: JobServices,
  tasks: readonly WorkerTask[],
  progress: JobProgress | null,
  ctx: UseCaseContext,
): Promise<{ outcomes: ChunkOutcome<WorkerResult>[]; retried: number }> {
  await progress?.start(tasks.length);
  let retried = 0;
  const outcomes = await ctx.timings.time("fan_out", () =>
    fanOut(tasks, (task, attempt) => services.invoker.invoke({ ...task, attempt }), {
      width: services.config.fanOut.width,
      retries: 1,
      onRetry: (task, error) => {
        retried++;
        progress?.retried();
        ctx.log.warn("worker failed: retrying its chunk once", { job_id: task.jobId, kind: task.kind, chunk: task.chunk, error: error.message });
      },
      onSettled: (outcome, task) => progress?.settled(outcome, task.files.length),
    }),
  );
  ctx.log.info("fan-out done", {
    job_id: tasks[0]?.jobId,
    kind: tasks[0]?.kind,
    workers: tasks.length,
    retried,
    failed: outcomes.filter((o) => !o.ok).length,
  });
  return { outcomes, retried };
}
