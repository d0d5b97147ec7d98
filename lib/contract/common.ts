import { z } from "zod";
import { ERROR_CODES } from "../errors";
import { idField, optionalIdField } from "./fields";

/** The identity fields every model request carries (role_id, roi_id required; model_key, recipe_id optional). */
export const identityFields = {
  role_id: idField("role_id", "Who the model belongs to (e.g. Master1): free UTF-8 text, at most 256 bytes."),
  roi_id: idField("roi_id", "Which region of interest (e.g. Pattern): free UTF-8 text, at most 256 bytes."),
  model_key: optionalIdField("model_key", "Which memory of the ROI; defaults to roi_id."),
  recipe_id: optionalIdField("recipe_id", 'Recipe the model belongs to; defaults to the X-Recipe-Id header, else "default". "last" is reserved.'),
};

/** The identity echoed by every model response (defaults applied). */
export const identityEcho = {
  role_id: z.string(),
  roi_id: z.string(),
  model_key: z.string(),
  recipe_id: z.string(),
};

/** Stage times of the request, in milliseconds (decode, forward, knn, s3_get, ...). */
export const timingsMs = z.record(z.string(), z.number()).meta({ description: "Stage times of the request, in milliseconds." });

export const requestId = z.string().meta({ description: "The X-Request-Id of the request (generated when absent), also sent back as a header." });

/** Every error response: `error` is written for people, `code` for programs (stable, see README). */
export const errorBody = z
  .object({
    error: z.string(),
    code: z.enum(ERROR_CODES),
    request_id: z.string(),
  })
  .meta({
    id: "Error",
    description: "Every error response.",
    examples: [
      { error: "ok_scores must hold at least one score", code: "invalid_input", request_id: "c6ca5226-8781-43bb-bf8a-ad0d6f21e5c5" },
      { error: "Memory not found for (role, roi): run /fit_ok first", code: "not_fitted", request_id: "line7-cam2-000183" },
      {
        error: "Missing or invalid API key: send this stage's key in the x-api-key header",
        code: "gateway",
        request_id: "0f7e2b1c-5a4d-4e8e-9c1a-2b3c4d5e6f70",
      },
    ],
  });
export type ErrorBody = z.infer<typeof errorBody>;
