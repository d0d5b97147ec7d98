import type { APIGatewayProxyEvent } from "aws-lambda";
import { header } from "../http/endpoint";
import type { MultipartForm } from "../http/multipart";
import { BadRequestError } from "../http/errors";
import { modelIdentity, type ModelIdentity } from "../store/keys";

/** role_id, roi_id, model_key and recipe_id (field, or the X-Recipe-Id header) of a request. */
export function identityOf(
  event: APIGatewayProxyEvent,
  fields: { roleId: string; roiId: string; modelKey?: string | undefined; recipeId?: string | undefined },
): ModelIdentity {
  const fromHeader = header(event, "x-recipe-id");
  if (fields.recipeId !== undefined && fromHeader !== undefined && fields.recipeId !== fromHeader) {
    throw new BadRequestError(`recipe_id ${JSON.stringify(fields.recipeId)} and the X-Recipe-Id header ${JSON.stringify(fromHeader)} differ`);
  }
  return modelIdentity(fields.roleId, fields.roiId, fields.modelKey, fields.recipeId ?? fromHeader);
}

/** The request fields every response echoes. */
export function identityJson(identity: ModelIdentity): Record<string, string> {
  return { role_id: identity.roleId, roi_id: identity.roiId, model_key: identity.modelKey, recipe_id: identity.recipeId };
}

export function memoryNotFound(identity: ModelIdentity): BadRequestError {
  return new BadRequestError(`Memory not found for (${identity.roleId}, ${identity.roiId}): run /fit_ok first`);
}

/** The identity fields of a multipart request (/fit_ok, /infer). */
export function identityOfForm(event: APIGatewayProxyEvent, form: MultipartForm): ModelIdentity {
  return identityOf(event, {
    roleId: form.requiredText("role_id"),
    roiId: form.requiredText("roi_id"),
    modelKey: form.text("model_key"),
    recipeId: form.text("recipe_id"),
  });
}
