import { randomUUID } from "node:crypto";
import type { CommitUploadsRequest, CreateUploadsRequest } from "../../contract/datasets";
import { InvalidInputError, TooLargeError, UnavailableError } from "../../errors";
import { checkImage } from "../../image/decode";
import type { UseCaseContext } from "../../context";
import { checkMmPerPx } from "../recipes/mmPerPxLock";
import type { Services } from "../services";
import { sha256Hex } from "../../store/integrity";
import { uploadKey, uploadsFolder } from "../../store/keys";
import { storedFilename } from "./filenames";
import { datasetEcho, datasetIdentityOf } from "./identity";
import { metaObject, metaScales, storedMeta } from "./metas";
import { commitFiles, type NewFile } from "./upload";

/** How long a presigned upload URL is valid. */
export const UPLOAD_URL_SECONDS = 15 * 60;
/** Uploaded bytes never committed are removed after this (S3: a lifecycle rule; locally: cleanUpExpiredUploads). */
export const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;
/** Committed uploads read (and checked) at once. */
const COMMIT_CONCURRENCY = 8;

/** Runs `work` on every item, at most `width` at a time, results in order. */
async function mapLimited<T, R>(items: readonly T[], width: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!, i);
      }
    }),
  );
  return out;
}

/**
 * POST /datasets/uploads: presigned PUT URLs, one per file, so large sets go straight to S3
 * (no 6 MB request, no base64, no Lambda time). The bytes land under `<prefix>uploads/<id>`,
 * a scratch space read only by the commit that names them.
 */
export async function createUploads(services: Services, input: CreateUploadsRequest, ctx: UseCaseContext) {
  const dataset = datasetIdentityOf(input);
  services.datasets.keys(dataset);
  const { store, config } = services;
  if (!store.presignPut) throw new UnavailableError("This store cannot give upload links");
  const expiresAt = new Date(Date.now() + UPLOAD_URL_SECONDS * 1000).toISOString();
  const uploads = [];
  for (const file of input.files) {
    const uploadId = randomUUID();
    const url = await store.presignPut(uploadKey(config.s3.prefix, uploadId), file.content_type, UPLOAD_URL_SECONDS);
    uploads.push({ upload_id: uploadId, url, method: "PUT" as const, headers: { "Content-Type": file.content_type }, expires_at: expiresAt });
  }
  await cleanUpExpiredUploads(services, ctx).catch((error: unknown) => ctx.log.warn("could not clean up expired uploads", { error }));
  ctx.log.info("upload links given", { ...datasetEcho(dataset), label: input.label, n: uploads.length });
  return { uploads, expires_in_s: UPLOAD_URL_SECONDS, recipe_id: dataset.recipeId };
}

/**
 * POST /datasets/uploads/commit: registers uploaded bytes in the dataset with their metas. Each
 * upload is read back and checked as an image (400 naming it otherwise), copied under a stored
 * name, then all enter the catalog in one conditional write; the scratch objects are removed.
 * Idempotent: an upload the catalog already holds (a commit retried after its answer was lost)
 * is answered with its stored name and not added again.
 */
export async function commitUploads(services: Services, input: CommitUploadsRequest, ctx: UseCaseContext) {
  const { store, config, datasets } = services;
  const dataset = datasetIdentityOf(input);
  datasets.keys(dataset);
  const ids = input.uploads.map((u) => u.upload_id);
  if (new Set(ids).size !== ids.length) throw new InvalidInputError("uploads names an upload_id twice");
  const metas = input.uploads.map((u, i) => metaObject(u.meta ?? {}, `uploads[${i}].meta`));
  for (const mm of metaScales(metas)) await checkMmPerPx(services, dataset.recipeId, mm, ctx);
  const written: string[] = [];
  const cleanup = async () => {
    for (const filename of written) await datasets.deleteFile(dataset, input.label, filename, ctx.timings);
  };
  // a commit retried (its answer lost): the uploads the catalog holds already are answered with their stored names, not read again
  const { catalog } = await datasets.catalog(dataset, ctx.timings);
  const already = new Map(catalog.files.filter((e) => e.upload_id !== undefined).map((e) => [e.upload_id!, e.filename]));
  const pending = input.uploads.map((upload, i) => ({ upload, i })).filter(({ upload }) => !already.has(upload.upload_id));
  let files: NewFile[];
  try {
    files = await mapLimited(pending, COMMIT_CONCURRENCY, async ({ upload, i }) => {
      const key = uploadKey(config.s3.prefix, upload.upload_id);
      const nothing = () =>
        new InvalidInputError(`uploads[${i}]: nothing was uploaded for upload_id ${upload.upload_id} (expired, already committed, or the PUT failed)`);
      // a presigned PUT takes any size: the size is checked before the bytes are read
      const head = await ctx.timings.time("s3_head", () => store.head(key));
      if (!head) throw nothing();
      if (head.size > config.limits.maxUploadBytes) {
        throw new TooLargeError(`uploads[${i}]: ${head.size} bytes is over the limit of ${config.limits.maxUploadBytes} bytes per upload (MAX_UPLOAD_BYTES)`);
      }
      const object = await ctx.timings.time("s3_get", () => store.get(key));
      if (!object) throw nothing();
      const header = await checkImage(object.body, config.limits.maxImagePixels, `uploads[${i}] (${upload.upload_id})`);
      const filename = storedFilename(header.format);
      const contentType = header.format === "jpeg" ? "image/jpeg" : "image/png";
      const sha256 = sha256Hex(object.body);
      if (!(await datasets.copyFile(key, dataset, input.label, filename, contentType, sha256, ctx.timings))) {
        throw new InvalidInputError(`uploads[${i}]: the upload ${upload.upload_id} disappeared while being committed`);
      }
      written.push(filename);
      const original = typeof metas[i]!.filename === "string" ? (metas[i]!.filename as string) : upload.upload_id;
      const meta = storedMeta(metas[i]!, { ...datasetEcho(dataset), label: input.label, filename, original_filename: original });
      return {
        label: input.label,
        filename,
        bytes: object.body.length,
        sha256,
        contentType,
        width: header.width,
        height: header.height,
        meta,
        uploadId: upload.upload_id,
      };
    });
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
  const committed = await commitFiles(services, dataset, files, ctx, cleanup);
  const names = new Map(already);
  for (const f of files) {
    const first = committed.get(f.uploadId!);
    // a racing commit of the same upload got there first: this copy is named by no catalog
    if (first !== undefined) await datasets.deleteFile(dataset, input.label, f.filename, ctx.timings).catch(() => undefined);
    names.set(f.uploadId!, first ?? f.filename);
  }
  for (const id of ids) await store.delete(uploadKey(config.s3.prefix, id)).catch(() => undefined);
  ctx.log.info("uploads committed", { ...datasetEcho(dataset), label: input.label, saved: files.length, already: ids.length - files.length });
  return { status: "ok" as const, saved: ids.map((id) => names.get(id)!), recipe_id: dataset.recipeId };
}

/**
 * Removes uploaded bytes older than UPLOAD_TTL_MS that no commit took. On AWS the bucket's
 * lifecycle rule does the same; this keeps a local store (which has none) from growing.
 * Lists only the service's own scratch prefix, and only to delete.
 */
export async function cleanUpExpiredUploads(services: Services, ctx: UseCaseContext, now = Date.now()): Promise<number> {
  const expired = (await services.store.list(uploadsFolder(services.config.s3.prefix))).filter((o) => now - o.lastModified.getTime() > UPLOAD_TTL_MS);
  for (const object of expired) await services.store.delete(object.key);
  if (expired.length > 0) ctx.log.info("expired uploads removed", { n: expired.length });
  return expired.length;
}
