import { datasetOf, modelIdentity, type DatasetIdentity } from "../../store/keys";

/** role_id, roi_id and recipe_id of a dataset request, with the recipe's default and the id rules of every request. */
export function datasetIdentityOf(input: { role_id: string; roi_id: string; recipe_id?: string | undefined }): DatasetIdentity {
  return datasetOf(modelIdentity(input.role_id, input.roi_id, undefined, input.recipe_id));
}

export function datasetEcho(dataset: DatasetIdentity) {
  return { role_id: dataset.roleId, roi_id: dataset.roiId, recipe_id: dataset.recipeId };
}
