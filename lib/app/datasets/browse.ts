import type { DatasetFileQuery, DatasetLabelQuery, DatasetQuery } from "../../contract/datasets";
import { NotFoundError, UnavailableError } from "../../errors";
import type { UseCaseContext } from "../../context";
import type { Services } from "../services";
import { DATASET_LABELS, type DatasetEntry, type DatasetCatalog } from "../../store/datasetRepository";
import type { DatasetIdentity } from "../../store/keys";
import { datasetEcho, datasetIdentityOf } from "./identity";

/** How long a download link given by GET /datasets/file stays valid. */
export const FILE_URL_SECONDS = 300;

/** The old backend's listing: per label (absent when empty) its count, its files (sorted) and which have a meta. */
export function classesOf(catalog: DatasetCatalog) {
  const classes: Record<string, { count: number; files: string[]; meta: Record<string, boolean> }> = {};
  for (const label of DATASET_LABELS) {
    const files = catalog.files
      .filter((f) => f.label === label)
      .map((f) => f.filename)
      .sort();
    if (files.length > 0) classes[label] = { count: files.length, files, meta: Object.fromEntries(files.map((f) => [f, true])) };
  }
  return classes;
}

export async function listDataset(services: Services, input: DatasetQuery, ctx: UseCaseContext) {
  const dataset = datasetIdentityOf(input);
  const { catalog } = await services.datasets.catalog(dataset, ctx.timings);
  return { role_id: dataset.roleId, roi_id: dataset.roiId, classes: classesOf(catalog), recipe_id: dataset.recipeId };
}

function entryOf(catalog: DatasetCatalog, dataset: DatasetIdentity, label: string, filename: string): DatasetEntry {
  const entry = catalog.files.find((f) => f.label === label && f.filename === filename);
  if (!entry)
    throw new NotFoundError(
      `No ${label} file ${JSON.stringify(filename)} in the dataset of (${dataset.roleId}, ${dataset.roiId}), recipe ${JSON.stringify(dataset.recipeId)}: see GET /datasets/list`,
    );
  return entry;
}

export async function datasetMeta(services: Services, input: DatasetFileQuery, ctx: UseCaseContext) {
  const dataset = datasetIdentityOf(input);
  const { catalog } = await services.datasets.catalog(dataset, ctx.timings);
  return { ...entryOf(catalog, dataset, input.label, input.filename).meta, recipe_id: dataset.recipeId };
}

/** Where the client downloads the bytes from: a short-lived presigned S3 URL (GET /datasets/file answers 302 to it). */
export async function datasetFile(services: Services, input: DatasetFileQuery, ctx: UseCaseContext) {
  const dataset = datasetIdentityOf(input);
  const { catalog } = await services.datasets.catalog(dataset, ctx.timings);
  const entry = entryOf(catalog, dataset, input.label, input.filename);
  const url = await services.datasets.fileUrl(dataset, entry, FILE_URL_SECONDS);
  if (!url) throw new UnavailableError("This store cannot give download links");
  return { url, content_type: entry.content_type, bytes: entry.bytes, expires_in_s: FILE_URL_SECONDS, recipe_id: dataset.recipeId };
}

/** Removes one file: from the catalog first (the commit point), then its bytes. */
export async function deleteDatasetFile(services: Services, input: DatasetFileQuery, ctx: UseCaseContext) {
  const dataset = datasetIdentityOf(input);
  const deleted = await services.datasets.update(dataset, ctx.timings, (catalog) => {
    const kept = catalog.files.filter((f) => !(f.label === input.label && f.filename === input.filename));
    return kept.length === catalog.files.length ? { catalog, result: false } : { catalog: { ...catalog, files: kept }, result: true };
  });
  if (deleted)
    await services.datasets
      .deleteFile(dataset, input.label, input.filename, ctx.timings)
      .catch((error: unknown) => ctx.log.warn("could not remove a deleted file's bytes (never read again)", { error }));
  ctx.log.info("dataset file deleted", { ...datasetEcho(dataset), label: input.label, filename: input.filename, deleted });
  return { deleted, filename: input.filename, recipe_id: dataset.recipeId };
}

/** Removes every file of one label; `cleared` counts images (the old backend counted its image and meta files). */
export async function clearDatasetLabel(services: Services, input: DatasetLabelQuery, ctx: UseCaseContext) {
  const dataset = datasetIdentityOf(input);
  const removed = await services.datasets.update(dataset, ctx.timings, (catalog) => {
    const gone = catalog.files.filter((f) => f.label === input.label);
    return gone.length === 0
      ? { catalog, result: gone }
      : { catalog: { ...catalog, files: catalog.files.filter((f) => f.label !== input.label) }, result: gone };
  });
  for (const entry of removed) {
    await services.datasets
      .deleteFile(dataset, entry.label, entry.filename, ctx.timings)
      .catch((error: unknown) => ctx.log.warn("could not remove a cleared file's bytes (never read again)", { error }));
  }
  ctx.log.info("dataset label cleared", { ...datasetEcho(dataset), label: input.label, cleared: removed.length });
  return { cleared: removed.length, label: input.label, recipe_id: dataset.recipeId };
}
