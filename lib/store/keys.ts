import { InvalidInputError } from "../errors";

/**
 * The S3 key layout: every key the service reads or writes is made here, under the configured
 * prefix (MODELS_PREFIX). serverless.yml names some of these folders in its IAM statements and
 * lifecycle rules; test/unit/configSources.test.ts checks that they and KEY_FOLDERS agree.
 *
 *   <prefix><b64 role>__<b64 model_key>_versions.json                              a model's versions and the active one
 *   <prefix><b64 role>__<b64 model_key>_fit.<fit id>.npz                           a version's memory (immutable)
 *   <prefix><b64 role>__<b64 model_key>_index.<fit id>.hnsw                        its HNSW index (KNN_BACKEND=hnsw)
 *   <prefix><b64 role>__<b64 model_key>{.npz, _calib.json}                         a model stored before versions (version 1)
 *   <prefix>recipes/<b64 recipe>/...                                                the same for another recipe
 *   <prefix>recipe-meta/<b64 recipe>.json                                           a recipe's settings and locks
 *   <prefix>datasets/<b64 recipe>/<b64 role>__<b64 roi>/{index.json, ok/*, ng/*}     a dataset
 *   <prefix>uploads/<upload id>                                                     presigned uploads not yet committed
 *   <prefix>jobs/<job id>/{job.json, chunks/*, result.json}                          a job
 */
export const KEY_FOLDERS = {
  recipes: "recipes/",
  recipeMeta: "recipe-meta/",
  datasets: "datasets/",
  uploads: "uploads/",
  jobs: "jobs/",
} as const;

/** URL-safe base64 of the UTF-8 id, no padding: any id maps to [A-Za-z0-9_-]+, so no id can reach another key. */
export function encodeId(id: string): string {
  return Buffer.from(id, "utf8").toString("base64url");
}

export function decodeId(encoded: string): string {
  return Buffer.from(encoded, "base64url").toString("utf8");
}

/** Whose memory (and calibration) a request names: the wire ids with their defaults. */
export interface ModelIdentity {
  readonly roleId: string;
  readonly roiId: string;
  /** Which memory of the ROI; defaults to roi_id. */
  readonly modelKey: string;
  /** Defaults to "default"; "last" is reserved. */
  readonly recipeId: string;
}

export const DEFAULT_RECIPE = "default";
const MAX_ID_BYTES = 256;

/** What is wrong with an id, or undefined: non-empty, at most 256 UTF-8 bytes, no NUL. */
export function idProblem(name: string, value: string): string | undefined {
  if (value.length === 0) return `${name} must not be empty`;
  if (Buffer.byteLength(value, "utf8") > MAX_ID_BYTES) return `${name} is longer than ${MAX_ID_BYTES} bytes`;
  if (value.includes("\u0000")) return `${name} must not contain NUL characters`;
  return undefined;
}

function checkId(name: string, value: string): void {
  const problem = idProblem(name, value);
  if (problem) throw new InvalidInputError(problem);
}

/** Validates ids (non-empty, at most 256 UTF-8 bytes) and applies the defaults. */
export function modelIdentity(roleId: string, roiId: string, modelKey?: string, recipeId?: string): ModelIdentity {
  checkId("role_id", roleId);
  checkId("roi_id", roiId);
  const key = modelKey === undefined || modelKey === "" ? roiId : modelKey;
  checkId("model_key", key);
  const recipe = recipeId === undefined || recipeId === "" ? DEFAULT_RECIPE : recipeId;
  checkId("recipe_id", recipe);
  if (recipe === "last") throw new InvalidInputError('recipe_id "last" is reserved');
  return { roleId, roiId, modelKey: key, recipeId: recipe };
}

export interface ModelKeys {
  /** The model's versions and which is active (mutable: conditional writes only); absent for a model stored before versions. */
  readonly versions: string;
  /** The memory .npz of fit `fitId`: one version's, immutable once written. */
  memoryFor(fitId: string): string;
  /** The HNSW index written by fit `fitId` (KNN_BACKEND=hnsw): unique per fit, never overwritten. */
  hnswIndexFor(fitId: string): string;
  /** The memory stored before versions (the old backend's name): a model without `versions` serves it as version 1. */
  readonly legacyMemory: string;
  /** Its calibration (the old backend's `_calib.json`): version 1's, or the calibration of a model calibrated before any fit. */
  readonly legacyCalibration: string;
  /** Where an HNSW index was stored before HNSW indexes were named by their fit. */
  readonly legacyHnswIndex: string;
}

/** S3's limit for a whole key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Longest file name (a key's last segment) the old backend's disk store and s3rver's can hold. */
export const MAX_KEY_SEGMENT_BYTES = 255;
/** A fit id (a UUID) as it appears in HNSW index keys: the longest key of a model is its HNSW index. */
const FIT_ID_SAMPLE = "00000000-0000-0000-0000-000000000000";

/** Refuses a key whose segments or total would not fit (see MAX_KEY_BYTES, MAX_KEY_SEGMENT_BYTES). */
function checkKeyFits(longest: string, what: string): void {
  const segment = Math.max(...longest.split("/").map((part) => Buffer.byteLength(part, "utf8")));
  const total = Buffer.byteLength(longest, "utf8");
  if (segment > MAX_KEY_SEGMENT_BYTES || total > MAX_KEY_BYTES) {
    throw new InvalidInputError(
      `${what} are too long to be stored together: their stored names would be ${segment} bytes per name and ${total} bytes in all, ` +
        `over the limits of ${MAX_KEY_SEGMENT_BYTES} bytes per name and ${MAX_KEY_BYTES} bytes in all (ids are base64url-encoded: 4 characters per 3 bytes); use shorter ids`,
    );
  }
}

/** A dataset's classes: good parts and defective ones. */
export const DATASET_LABELS = ["ok", "ng"] as const;
export type DatasetLabel = (typeof DATASET_LABELS)[number];

/** Who a dataset belongs to: the old backend keys datasets by role, ROI and recipe (not model_key). */
export interface DatasetIdentity {
  readonly roleId: string;
  readonly roiId: string;
  readonly recipeId: string;
}

export interface DatasetKeys {
  /** The dataset's catalog (index.json): the list of its files and their metas; the only source of truth for what the dataset holds. */
  readonly catalog: string;
  file(label: string, filename: string): string;
}

/** The longest file name the service generates (see lib/datasets/filenames.ts). */
const DATASET_FILENAME_SAMPLE = "20261125-120000-000000-0123456789ab.jpeg";

/** The dataset of a model's ROI (datasets are per role, ROI and recipe, not per model_key). */
export function datasetOf(identity: ModelIdentity): DatasetIdentity {
  return { roleId: identity.roleId, roiId: identity.roiId, recipeId: identity.recipeId };
}

/** `<prefix>datasets/<enc(recipe)>/<enc(role)>__<enc(roi)>/{index.json, ok/<file>, ng/<file>}`. */
export function datasetKeys(prefix: string, dataset: DatasetIdentity): DatasetKeys {
  const base = `${prefix}${KEY_FOLDERS.datasets}${encodeId(dataset.recipeId)}/${encodeId(dataset.roleId)}__${encodeId(dataset.roiId)}/`;
  checkKeyFits(`${base}ok/${DATASET_FILENAME_SAMPLE}`, "role_id, roi_id and recipe_id");
  return { catalog: `${base}index.json`, file: (label, filename) => `${base}${label}/${filename}` };
}

/**
 * S3 keys of a model, all beginning `<prefix><enc(role)>__<enc(model_key)>` (model_key = roi_id by
 * default): its versions, each version's memory and HNSW index named by its fit, and the old
 * backend's names (`.npz`, `_calib.json`), so a memory stored before versions, or by the old
 * backend, is served as version 1. A recipe other than "default" lives under `<prefix>recipes/<enc(recipe)>/`.
 * Ids whose keys would not fit S3 (1024 bytes) or a file name (255 bytes) are a 400 naming both
 * limits, before anything is computed or stored.
 */
export function modelKeys(prefix: string, identity: ModelIdentity): ModelKeys {
  const folder = identity.recipeId === DEFAULT_RECIPE ? prefix : `${prefix}${KEY_FOLDERS.recipes}${encodeId(identity.recipeId)}/`;
  const base = `${folder}${encodeId(identity.roleId)}__${encodeId(identity.modelKey)}`;
  const hnswIndexFor = (fitId: string) => `${base}_index.${fitId}.hnsw`;
  const memoryFor = (fitId: string) => `${base}_fit.${fitId}.npz`;
  checkKeyFits(hnswIndexFor(FIT_ID_SAMPLE), "role_id, model_key (roi_id by default) and recipe_id");
  return {
    versions: `${base}_versions.json`,
    memoryFor,
    hnswIndexFor,
    legacyMemory: `${base}.npz`,
    legacyCalibration: `${base}_calib.json`,
    legacyHnswIndex: `${base}_index.hnsw`,
  };
}

/** `<prefix>recipe-meta/<b64url(recipe)>.json`: apart from the model keys (which always hold "__" and never a "/"). */
export function recipeMetaKey(prefix: string, recipeId: string): string {
  return `${prefix}${KEY_FOLDERS.recipeMeta}${encodeId(recipeId)}.json`;
}

/** Where a presigned upload lands until a commit takes it (S3 expires it after a day: a lifecycle rule). */
export function uploadKey(prefix: string, uploadId: string): string {
  return `${prefix}${KEY_FOLDERS.uploads}${uploadId}`;
}

/** Everything uploaded and not yet committed (listed only to remove what expired). */
export function uploadsFolder(prefix: string): string {
  return `${prefix}${KEY_FOLDERS.uploads}`;
}

export interface JobKeys {
  /** The job's state: written by its coordinator only. */
  readonly state: string;
  /** One worker invocation's partial result, written once by that worker. */
  chunk(chunk: number, extension: string): string;
  /** A batch job's full result. */
  readonly result: string;
}

/** `<prefix>jobs/<job id>/{job.json, chunks/<n>.<ext>, result.json}`. */
export function jobKeys(prefix: string, jobId: string): JobKeys {
  const folder = `${prefix}${KEY_FOLDERS.jobs}${jobId}/`;
  return {
    state: `${folder}job.json`,
    chunk: (chunk, extension) => `${folder}chunks/${String(chunk).padStart(5, "0")}.${extension}`,
    result: `${folder}result.json`,
  };
}
