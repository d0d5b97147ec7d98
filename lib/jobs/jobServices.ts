import type { Config } from "../config";
import type { JobRepository } from "../store/jobRepository";
import type { WorkerInvoker } from "./invoker";

/** What the job mechanism needs from a composition root (lib/app/services.ts's Services has it all). */
export interface JobServices {
  readonly jobs: JobRepository;
  readonly invoker: WorkerInvoker;
  readonly config: { readonly fanOut: Config["fanOut"] };
}
