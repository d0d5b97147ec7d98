import { InvalidInputError } from "../errors";

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
  /** The memory .npz: the commit point of a fit. */
  readonly memory: string;
  readonly calibration: string;
  /** The HNSW index written by fit `fitId`: unique per fit, so a failed fit never touches the index of the memory in place. */
  indexFor(fitId: string): string;
  /** Where an index was stored before indexes were named by their fit (still removed after a re-fit). */
  readonly legacyIndex: string;
}

/** S3's limit for a whole key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Longest file name (a key's last segment) the old backend's disk store and s3rver's can hold. */
export const MAX_KEY_SEGMENT_BYTES = 255;
/** A fit id (a UUID) as it appears in index keys: the longest key of a model is its index. */
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

/** Who a dataset belongs to: the old backend keys datasets by role, ROI and recipe (not model_key). */
export interface DatasetIdentity {
  readonly roleId: string;
  readonly roiId: string;
  readonly recipeId: string;
}

export interface DatasetKeys {
  /** The dataset's index: the list of its files and their metas; the only source of truth for what the dataset holds. */
  readonly index: string;
  file(label: string, filename: string): string;
}

/** The longest file name the service generates (see lib/datasets/filenames.ts). */
const DATASET_FILENAME_SAMPLE = "20261125-120000-000000-0123456789ab.jpeg";

/** `<prefix>datasets/<enc(recipe)>/<enc(role)>__<enc(roi)>/{index.json, ok/<file>, ng/<file>}`. */
export function datasetKeys(prefix: string, dataset: DatasetIdentity): DatasetKeys {
  const base = `${prefix}datasets/${encodeId(dataset.recipeId)}/${encodeId(dataset.roleId)}__${encodeId(dataset.roiId)}/`;
  checkKeyFits(`${base}ok/${DATASET_FILENAME_SAMPLE}`, "role_id, roi_id and recipe_id");
  return { index: `${base}index.json`, file: (label, filename) => `${base}${label}/${filename}` };
}

/**
 * S3 keys of a model: `<prefix><enc(role)>__<enc(model_key)>{.npz,_index.<fit id>.hnsw,_calib.json}`,
 * the old backend's names (model_key = roi_id by default), so its memories dropped in the bucket
 * are served. A recipe other than "default" lives under `<prefix>recipes/<enc(recipe)>/`.
 * Ids whose keys would not fit S3 (1024 bytes) or a file name (255 bytes) are a 400 naming both
 * limits, before anything is computed or stored.
 */
export function modelKeys(prefix: string, identity: ModelIdentity): ModelKeys {
  const folder = identity.recipeId === DEFAULT_RECIPE ? prefix : `${prefix}recipes/${encodeId(identity.recipeId)}/`;
  const base = `${folder}${encodeId(identity.roleId)}__${encodeId(identity.modelKey)}`;
  const indexFor = (fitId: string) => `${base}_index.${fitId}.hnsw`;
  checkKeyFits(indexFor(FIT_ID_SAMPLE), "role_id, model_key (roi_id by default) and recipe_id");
  return { memory: `${base}.npz`, calibration: `${base}_calib.json`, indexFor, legacyIndex: `${base}_index.hnsw` };
}
