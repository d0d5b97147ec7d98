import { InspectionClient, type Reply } from "../../lib/contract/client";
import { CliError, EXIT } from "./exitCodes";
import { progressBar } from "./progress";

export interface GlobalOptions {
  readonly url: string;
  readonly apiKey?: string;
  readonly recipe?: string;
}

export function clientOf(options: GlobalOptions): InspectionClient {
  return new InspectionClient(options.url, { ...(options.apiKey ? { apiKey: options.apiKey } : {}) });
}

/** The body of a successful answer, or a CliError with the service's message and code. */
export async function ok<T>(what: string, reply: Promise<Reply<T>>): Promise<T> {
  let answer: Reply<T>;
  try {
    answer = await reply;
  } catch (error) {
    throw new CliError(`${what}: the service could not be reached (${(error as Error).message})`, EXIT.SERVICE);
  }
  if (answer.status === 200) return answer.body as T;
  const body = answer.body as { error?: string; code?: string };
  throw new CliError(`${what}: HTTP ${answer.status} ${body.code ?? ""}: ${body.error ?? JSON.stringify(body)}`, EXIT.SERVICE);
}

/** An answer that may be a job (202): waits for it with a progress bar, and returns its result. */
export async function resultOrJob<T>(api: InspectionClient, what: string, reply: Promise<Reply<T>>): Promise<T | Record<string, unknown>> {
  const answer = await reply.catch((error: unknown) => {
    throw new CliError(`${what}: the service could not be reached (${(error as Error).message})`, EXIT.SERVICE);
  });
  if (answer.status !== 202) return ok(what, Promise.resolve(answer));
  const accepted = answer.accepted();
  const bar = progressBar(`${what} (job ${accepted.job_id.slice(0, 8)})`, accepted.n_images);
  const job = await api.waitForJob(accepted.job_id, { intervalMs: 1000, onProgress: (j) => bar.update(j.progress.done, j.state) }).finally(() => bar.stop());
  if (job.state === "failed")
    throw new CliError(`${what}: job ${job.job_id} failed: ${job.error?.error ?? "unknown reason"} (${job.error?.code ?? ""})`, EXIT.JOB_FAILED);
  if (job.result_url) {
    // the full result (every item, the scores, the curve) is only there: its summary is not the answer asked for
    const full = await fetch(job.result_url).catch((error: unknown) => {
      throw new CliError(`${what}: job ${job.job_id} done, but its full result could not be fetched (${(error as Error).message})`, EXIT.SERVICE);
    });
    if (!full.ok)
      throw new CliError(
        `${what}: job ${job.job_id} done, but its full result answered HTTP ${full.status}; its summary: ${JSON.stringify(job.result)}`,
        EXIT.SERVICE,
      );
    return (await full.json()) as Record<string, unknown>;
  }
  return job.result ?? {};
}
