import type { InspectionClient, ImageFile } from "../../lib/contract/client";

/** Who a dataset belongs to (recipe optional: "default"). */
export interface DatasetIds {
  readonly role_id: string;
  readonly roi_id: string;
  readonly recipe_id?: string;
}

/** Runs `work` on every item, at most `width` at a time; results in order. */
export async function mapLimited<T, R>(items: readonly T[], width: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(width, items.length)) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!, i);
      }
    }),
  );
  return out;
}

/**
 * Stores `files` under `label` through presigned direct uploads: POST /datasets/uploads for the
 * links, a PUT of each file's bytes straight to S3 (`width` at a time), then
 * POST /datasets/uploads/commit with one meta per file. `perCall` files per call pair (default
 * 100; the contract allows 500, but a commit reads back and copies each file within the HTTP
 * function's 29 s, which a few hundred files can pass on a loaded machine). Answers the stored
 * names, in the order of `files`.
 */
export async function uploadDirect(
  api: InspectionClient,
  ids: DatasetIds,
  label: "ok" | "ng",
  files: readonly ImageFile[],
  metaOf: (file: ImageFile, i: number) => Record<string, unknown>,
  options: { width?: number; perCall?: number; onUploaded?: (done: number) => void } = {},
): Promise<string[]> {
  const saved: string[] = [];
  const perCall = Math.min(500, options.perCall ?? 100);
  for (let start = 0; start < files.length; start += perCall) {
    const batch = files.slice(start, start + perCall);
    const links = (await api.createUploads({ ...ids, label, files: batch.map((f) => ({ filename: f.filename, content_type: contentTypeOf(f) })) })).ok();
    let done = 0;
    await mapLimited(links.uploads, options.width ?? 8, async (upload, i) => {
      const response = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: Buffer.from(batch[i]!.data) });
      if (!response.ok) throw new Error(`PUT of ${batch[i]!.filename} to its presigned URL: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
      options.onUploaded?.(start + ++done);
    });
    const committed = (
      await api.commitUploads({ ...ids, label, uploads: links.uploads.map((u, i) => ({ upload_id: u.upload_id, meta: metaOf(batch[i]!, start + i) })) })
    ).ok();
    saved.push(...committed.saved);
  }
  return saved;
}

function contentTypeOf(file: ImageFile): "image/png" | "image/jpeg" {
  if (file.type === "image/png" || file.type === "image/jpeg") return file.type;
  return /\.jpe?g$/i.test(file.filename) ? "image/jpeg" : "image/png";
}

type FitAnswer = Awaited<ReturnType<InspectionClient["fitOk"]>>;
type InferDatasetAnswer = Awaited<ReturnType<InspectionClient["inferDataset"]>>;
type CalibrateDatasetAnswer = Awaited<ReturnType<InspectionClient["calibrateDataset"]>>;
type Job = Awaited<ReturnType<InspectionClient["waitForJob"]>>;

/** A fit or batch answered in the request (200) or run as a job (202, followed to its end). */
export interface Finished<T> {
  readonly result: T;
  /** The job, when the work became one (null when answered synchronously), with the count of transient job-state read errors. */
  readonly job: (Job & { transientReadErrors: number }) | null;
  readonly wallMs: number;
}

/**
 * GET /jobs/{id} until done or failed (InspectionClient.waitForJob), counting the polls that
 * failed transiently. Locally those are mostly a 503 corrupt_artefact on the job's state: the
 * local S3 server (scripts/local/s3Server.ts) renames an object's new bytes into place and writes
 * its metadata (with the SHA-256) after, so a GET between the two reads new bytes with the old
 * digest while the coordinator rewrites job.json; S3 itself does not.
 */
export async function waitForJob(
  api: InspectionClient,
  id: string,
  options: { intervalMs?: number; timeoutMs?: number; onProgress?: (job: Job) => void } = {},
): Promise<Job & { transientReadErrors: number }> {
  let transient = 0;
  const job = await api.waitForJob(id, { timeoutMs: 60 * 60_000, ...options, onTransient: () => transient++ });
  return { ...job, transientReadErrors: transient };
}

async function followJob(
  api: InspectionClient,
  reply: FitAnswer | InferDatasetAnswer | CalibrateDatasetAnswer,
  onProgress?: (job: Job) => void,
  intervalMs = 200,
): Promise<(Job & { transientReadErrors: number }) | null> {
  if (reply.status !== 202) return null;
  const accepted = reply.accepted();
  const job = await waitForJob(api, accepted.job_id, { intervalMs, ...(onProgress ? { onProgress } : {}) });
  if (job.state !== "done") throw new Error(`job ${job.job_id} (${job.kind}) ended ${job.state}: ${job.error?.error ?? "no reason given"}`);
  return job;
}

/** POST /fit_ok with use_dataset=true: the fit's answer, whether synchronous or a job. */
export async function fitFromDataset(
  api: InspectionClient,
  fields: DatasetIds & { mm_per_px: number; model_key?: string },
  options: { onProgress?: (job: Job) => void; intervalMs?: number } = {},
): Promise<Finished<ReturnType<FitAnswer["ok"]>>> {
  const started = performance.now();
  const reply = await api.fitOk({ ...fields, use_dataset: true }, []);
  const job = await followJob(api, reply, options.onProgress, options.intervalMs);
  const result = job ? (job.result as unknown as ReturnType<FitAnswer["ok"]>) : reply.ok();
  return { result, job, wallMs: performance.now() - started };
}

/** POST /infer_dataset: the full answer (a job's items fetched from its result_url). */
export function inferDataset(
  api: InspectionClient,
  body: Parameters<InspectionClient["inferDataset"]>[0],
  options: { onProgress?: (job: Job) => void; intervalMs?: number } = {},
): Promise<Finished<ReturnType<InferDatasetAnswer["ok"]>>> {
  return batchAnswer(api, () => api.inferDataset(body), options);
}

/** POST /calibrate_dataset: the full answer (a job's scores and curve fetched from its result_url). */
export function calibrateDataset(
  api: InspectionClient,
  body: Parameters<InspectionClient["calibrateDataset"]>[0],
  options: { onProgress?: (job: Job) => void; intervalMs?: number } = {},
): Promise<Finished<ReturnType<CalibrateDatasetAnswer["ok"]>>> {
  return batchAnswer(api, () => api.calibrateDataset(body), options);
}

async function batchAnswer<R extends InferDatasetAnswer | CalibrateDatasetAnswer>(
  api: InspectionClient,
  send: () => Promise<R>,
  options: { onProgress?: (job: Job) => void; intervalMs?: number },
): Promise<Finished<ReturnType<R["ok"]>>> {
  const started = performance.now();
  const reply = await send();
  const job = await followJob(api, reply, options.onProgress, options.intervalMs);
  let result: ReturnType<R["ok"]>;
  if (job) {
    if (!job.result_url) throw new Error(`job ${job.job_id} is done but gives no result_url`);
    const response = await fetch(job.result_url);
    if (!response.ok) throw new Error(`GET of job ${job.job_id}'s result: HTTP ${response.status}`);
    result = (await response.json()) as ReturnType<R["ok"]>;
  } else {
    result = reply.ok() as ReturnType<R["ok"]>;
  }
  return { result, job, wallMs: performance.now() - started };
}
