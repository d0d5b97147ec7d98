import { z } from "zod";
import type { Timings } from "../util/timings";
import type { BlobStore } from "./blobStore";
import { DIGEST_METADATA, sha256Hex, verifyDigest } from "./integrity";
import { jsonArtefact, parseJsonArtefact } from "./jsonArtefact";
import { jobKeys, type JobKeys } from "./keys";

export const JOB_STATES = ["queued", "running", "done", "failed"] as const;

const jobSchema = z.object({
  id: z.string(),
  /** Which registered job kind runs it (lib/app/jobs). */
  kind: z.string(),
  state: z.enum(JOB_STATES),
  created_at: z.string(),
  updated_at: z.string(),
  /** The command the job runs (the coordinator reads it back). */
  command: z.record(z.string(), z.unknown()),
  progress: z.object({ done: z.number().int(), total: z.number().int(), errors: z.number().int() }),
  chunks: z.object({ total: z.number().int(), done: z.number().int(), retried: z.number().int(), failed: z.number().int() }),
  timings_ms: z.record(z.string(), z.number()),
  /** The result's summary (the whole result is a separate object for batch jobs). */
  result: z.record(z.string(), z.unknown()).nullable(),
  error: z.object({ error: z.string(), code: z.string() }).nullable(),
});
export type Job = z.infer<typeof jobSchema>;

/**
 * Jobs and their partial results under `<prefix>jobs/<id>/`: `job.json` (state, progress; written
 * by the coordinator only), `chunks/<n>.*` (one per worker invocation, each written once by its
 * worker), `result.json` (a batch job's full result).
 */
export class JobRepository {
  constructor(
    private readonly store: BlobStore,
    private readonly prefix: string,
  ) {}

  keys(id: string): JobKeys {
    return jobKeys(this.prefix, id);
  }

  async load(id: string, timings: Timings): Promise<Job | null> {
    const key = this.keys(id).state;
    const object = await timings.time("s3_get", () => this.store.get(key));
    if (!object) return null;
    return parseJsonArtefact(key, object, jobSchema, "job state");
  }

  async save(job: Job, timings: Timings): Promise<void> {
    await this.putJson(this.keys(job.id).state, { ...job, updated_at: new Date().toISOString() }, timings);
  }

  async putJson(key: string, value: unknown, timings: Timings): Promise<void> {
    const { body, options } = jsonArtefact(value);
    await timings.time("s3_put", () => this.store.put(key, body, options));
  }

  async putBytes(key: string, body: Uint8Array, timings: Timings): Promise<void> {
    await timings.time("s3_put", () =>
      this.store.put(key, body, { contentType: "application/octet-stream", metadata: { [DIGEST_METADATA]: sha256Hex(body) } }),
    );
  }

  async getBytes(key: string, timings: Timings): Promise<Uint8Array | null> {
    const object = await timings.time("s3_get", () => this.store.get(key));
    if (!object) return null;
    verifyDigest(key, object, "job part");
    return object.body;
  }

  async getJson(key: string, timings: Timings): Promise<unknown> {
    const bytes = await this.getBytes(key, timings);
    return bytes ? JSON.parse(Buffer.from(bytes).toString("utf8")) : null;
  }

  /** A URL the client can download a job's result from directly. */
  async resultUrl(id: string, expiresInSeconds: number): Promise<string | null> {
    return this.store.presignGet ? this.store.presignGet(this.keys(id).result, expiresInSeconds) : null;
  }
}
