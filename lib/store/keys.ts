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
  readonly memory: string;
  readonly index: string;
  readonly calibration: string;
}

/**
 * S3 keys of a model: `<prefix><enc(role)>__<enc(model_key)>{.npz,_index.hnsw,_calib.json}`, the
 * old backend's names (model_key = roi_id by default), so its memories dropped in the bucket are
 * served. A recipe other than "default" lives under `<prefix>recipes/<enc(recipe)>/`.
 */
export function modelKeys(prefix: string, identity: ModelIdentity): ModelKeys {
  const folder = identity.recipeId === DEFAULT_RECIPE ? prefix : `${prefix}recipes/${encodeId(identity.recipeId)}/`;
  const base = `${folder}${encodeId(identity.roleId)}__${encodeId(identity.modelKey)}`;
  return { memory: `${base}.npz`, index: `${base}_index.hnsw`, calibration: `${base}_calib.json` };
}
