import { NotFittedError } from "../errors";
import { modelIdentity, type ModelIdentity } from "../store/keys";

/** The identity fields as the contract parsed them. */
export interface IdentityInput {
  readonly role_id: string;
  readonly roi_id: string;
  readonly model_key?: string | undefined;
  readonly recipe_id?: string | undefined;
}

/** role_id, roi_id, model_key and recipe_id with their defaults (model_key = roi_id, recipe "default"). */
export function identityOf(input: IdentityInput): ModelIdentity {
  return modelIdentity(input.role_id, input.roi_id, input.model_key, input.recipe_id);
}

/** The identity fields every response echoes. */
export function identityEcho(identity: ModelIdentity) {
  return { role_id: identity.roleId, roi_id: identity.roiId, model_key: identity.modelKey, recipe_id: identity.recipeId };
}

export function memoryNotFound(identity: ModelIdentity): NotFittedError {
  return new NotFittedError(`Memory not found for (${identity.roleId}, ${identity.roiId}): run /fit_ok first`);
}
