export type ChunkOutcome<R> =
  { readonly ok: true; readonly result: R; readonly attempts: number } | { readonly ok: false; readonly error: Error; readonly attempts: number };

/**
 * Runs every task with at most `width` in flight, each retried `retries` times (a worker that
 * failed once is invoked again; the second failure is final). Outcomes come back in task order;
 * `onSettled` sees each as it ends (progress).
 */
export async function fanOut<T, R>(
  tasks: readonly T[],
  run: (task: T, attempt: number) => Promise<R>,
  options: {
    width: number;
    retries: number;
    onRetry?: (task: T, error: Error) => void;
    onSettled?: (outcome: ChunkOutcome<R>, task: T) => Promise<void> | void;
  },
): Promise<ChunkOutcome<R>[]> {
  const outcomes = new Array<ChunkOutcome<R>>(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      const task = tasks[i]!;
      let outcome: ChunkOutcome<R> | undefined;
      for (let attempt = 1; !outcome; attempt++) {
        try {
          outcome = { ok: true, result: await run(task, attempt), attempts: attempt };
        } catch (cause) {
          const error = cause instanceof Error ? cause : new Error(String(cause));
          if (attempt > options.retries) outcome = { ok: false, error, attempts: attempt };
          else options.onRetry?.(task, error);
        }
      }
      outcomes[i] = outcome;
      await options.onSettled?.(outcome, task);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.width, tasks.length)) }, lane));
  return outcomes;
}

/** `items` in consecutive chunks of at most `size`. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
