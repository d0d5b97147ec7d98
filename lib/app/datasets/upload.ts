import type { DatasetUploadRequest } from "../../contract/datasets";
import { checkImage } from "../../image/decode";
import type { UseCaseContext } from "../../context";
import { checkMmPerPx, ensureMmPerPx } from "../recipes/mmPerPxLock";
import type { Services } from "../services";
import type { DatasetEntry, DatasetLabel } from "../../store/datasetRepository";
import { sha256Hex } from "../../store/integrity";
import type { DatasetIdentity } from "../../store/keys";
import { storedFilename } from "./filenames";
import { datasetEcho, datasetIdentityOf } from "./identity";
import { metaScales, parseMetas, storedMeta, type Meta } from "./metas";

export interface NewFile {
  readonly label: DatasetLabel;
  readonly filename: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
  readonly meta: Meta;
  /** The direct upload it comes from (POST /datasets/uploads/commit). */
  readonly uploadId?: string;
}

/**
 * Adds stored files to the dataset's catalog in one conditional write (the commit point), after the
 * recipe's mm_per_px lock has taken the metas' scale. If the commit fails, the files just stored
 * are removed (best effort): a file no catalog names is never read. Answers the direct uploads
 * the catalog held already (upload id -> stored name), which were not added again.
 */
export async function commitFiles(
  services: Services,
  dataset: DatasetIdentity,
  files: readonly NewFile[],
  ctx: UseCaseContext,
  cleanup: () => Promise<void>,
): Promise<ReadonlyMap<string, string>> {
  try {
    for (const mm of metaScales(files.map((f) => f.meta))) await ensureMmPerPx(services, dataset.recipeId, mm, ctx);
    const added = new Date().toISOString();
    const entries: DatasetEntry[] = files.map((f) => ({
      filename: f.filename,
      label: f.label,
      bytes: f.bytes,
      sha256: f.sha256,
      content_type: f.contentType,
      width: f.width,
      height: f.height,
      meta: f.meta,
      added_at: added,
      ...(f.uploadId ? { upload_id: f.uploadId } : {}),
    }));
    // a direct upload already in the catalog (a commit retried, or two racing) is not added again: its stored name is answered
    return await services.datasets.update(dataset, ctx.timings, (catalog) => {
      const committed = new Map(catalog.files.filter((e) => e.upload_id !== undefined).map((e) => [e.upload_id!, e.filename]));
      const fresh = entries.filter((e) => e.upload_id === undefined || !committed.has(e.upload_id));
      return { catalog: { ...catalog, files: [...catalog.files, ...fresh] }, result: committed };
    });
  } catch (error) {
    await cleanup().catch((cause: unknown) =>
      ctx.log.warn("could not remove the files of a failed upload (never read: no catalog names them)", { error: cause }),
    );
    throw error;
  }
}

/** POST /datasets/{ok,ng}/upload: images (+ one meta each) into the dataset, under names the service gives them. */
export async function uploadImages(services: Services, label: DatasetLabel, input: DatasetUploadRequest, ctx: UseCaseContext) {
  const { config, datasets } = services;
  const dataset = datasetIdentityOf(input);
  datasets.keys(dataset); // ids too long to store: a 400 before anything is written
  const metas = parseMetas(input.metas, input.images.length);
  for (const mm of metaScales(metas)) await checkMmPerPx(services, dataset.recipeId, mm, ctx);
  const headers = [];
  for (const [i, file] of input.images.entries())
    headers.push(await checkImage(file.data, config.limits.maxImagePixels, `images[${i}] (${file.filename || "unnamed"})`));
  const files: NewFile[] = [];
  const written: string[] = [];
  const cleanup = async () => {
    for (const filename of written) await datasets.deleteFile(dataset, label, filename, ctx.timings);
  };
  try {
    for (const [i, file] of input.images.entries()) {
      const header = headers[i]!;
      const filename = storedFilename(header.format);
      const contentType = header.format === "jpeg" ? "image/jpeg" : "image/png";
      await datasets.putFile(dataset, label, filename, file.data, contentType, ctx.timings);
      written.push(filename);
      const meta = storedMeta(metas[i]!, { ...datasetEcho(dataset), label, filename, original_filename: file.filename });
      files.push({ label, filename, bytes: file.data.length, sha256: sha256Hex(file.data), contentType, width: header.width, height: header.height, meta });
    }
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
  await commitFiles(services, dataset, files, ctx, cleanup);
  ctx.log.info("dataset upload", { ...datasetEcho(dataset), label, saved: files.length });
  return { status: "ok" as const, saved: files.map((f) => f.filename), recipe_id: dataset.recipeId };
}
