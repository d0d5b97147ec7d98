/** Which model the console works on: the ids every call carries. */
export interface ModelIds {
  readonly role_id: string;
  readonly roi_id: string;
  readonly model_key?: string;
  readonly recipe_id?: string;
}

const CURRENT = "patchcore.model";
const RECENT = "patchcore.recentModels";

export function sameModel(a: ModelIds, b: ModelIds): boolean {
  return a.role_id === b.role_id && a.roi_id === b.roi_id && (a.model_key ?? "") === (b.model_key ?? "") && (a.recipe_id ?? "") === (b.recipe_id ?? "");
}

export function describeModel(ids: ModelIds): string {
  const parts = [`${ids.role_id} / ${ids.roi_id}`];
  if (ids.model_key) parts.push(`key ${ids.model_key}`);
  if (ids.recipe_id) parts.push(`recipe ${ids.recipe_id}`);
  return parts.join(", ");
}

/** The ids with empty optional fields left out (the API applies its defaults). */
export function cleanIds(ids: ModelIds): ModelIds {
  return {
    role_id: ids.role_id.trim(),
    roi_id: ids.roi_id.trim(),
    ...(ids.model_key?.trim() ? { model_key: ids.model_key.trim() } : {}),
    ...(ids.recipe_id?.trim() ? { recipe_id: ids.recipe_id.trim() } : {}),
  };
}

/** The dataset's ids (datasets belong to a role, ROI and recipe, not to a model_key). */
export function datasetIds(ids: ModelIds) {
  return { role_id: ids.role_id, roi_id: ids.roi_id, ...(ids.recipe_id ? { recipe_id: ids.recipe_id } : {}) };
}

export function loadCurrent(): ModelIds | null {
  try {
    const value = JSON.parse(localStorage.getItem(CURRENT) ?? "null") as ModelIds | null;
    return value && value.role_id && value.roi_id ? value : null;
  } catch {
    return null;
  }
}

export function loadRecent(): ModelIds[] {
  try {
    return (JSON.parse(localStorage.getItem(RECENT) ?? "[]") as ModelIds[]).filter((m) => m.role_id && m.roi_id);
  } catch {
    return [];
  }
}

/** Remembers the model chosen (this browser only: the service keeps no list of models to offer). */
export function remember(ids: ModelIds): ModelIds[] {
  const recent = [ids, ...loadRecent().filter((m) => !sameModel(m, ids))].slice(0, 12);
  localStorage.setItem(CURRENT, JSON.stringify(ids));
  localStorage.setItem(RECENT, JSON.stringify(recent));
  return recent;
}
