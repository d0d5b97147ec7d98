import { z } from "zod";
import { DATASET_LABELS } from "../store/keys";
import { identityFields } from "./common";
import { idField, optionalIdField } from "./fields";
import { fileParts, textParts } from "./files";

const label = z.enum(DATASET_LABELS, { error: (issue) => `label must be "ok" or "ng", got ${JSON.stringify(issue.input) ?? "nothing"}` });
const datasetIds = {
  role_id: idField("role_id", "Who the dataset belongs to."),
  roi_id: idField("roi_id", "Which ROI."),
  recipe_id: optionalIdField("recipe_id", 'Defaults to the X-Recipe-Id header, else "default".'),
};
/** A stored file's name, as the service generated it (the client's own name is kept in its meta). */
const filename = z
  .string({ error: (issue) => (issue.input === undefined ? "Missing field filename" : "filename must be a string") })
  .regex(/^[\w.-]{1,100}$/, { error: (issue) => `filename ${JSON.stringify(issue.input)} is not a name this service gives to stored files` });

const echo = { request_id: z.string(), recipe_id: z.string() };

export const datasetUploadRequest = z
  .object({
    ...datasetIds,
    images: fileParts({ min: 1, missing: "No images: send 1 or more PNG/JPEG files in the images field", description: "The images to store (PNG/JPEG)." }),
    metas: textParts("metas", 'One JSON object per image, in the same order (e.g. {"mm_per_px":0.2,"shape_json":{...}}); none, or exactly one per image.'),
  })
  .meta({ id: "DatasetUploadRequest" });
export type DatasetUploadRequest = z.output<typeof datasetUploadRequest>;

export const datasetUploadResponse = z
  .object({ status: z.literal("ok"), saved: z.array(z.string()).meta({ description: "The stored names the service gave the images, in order." }), ...echo })
  .meta({ id: "DatasetUploadResponse" });

export const datasetQuery = z.object({ ...datasetIds }).meta({ id: "DatasetQuery" });
export type DatasetQuery = z.output<typeof datasetQuery>;
export const datasetLabelQuery = z.object({ ...datasetIds, label }).meta({ id: "DatasetLabelQuery" });
export type DatasetLabelQuery = z.output<typeof datasetLabelQuery>;
export const datasetFileQuery = z.object({ ...datasetIds, label, filename }).meta({ id: "DatasetFileQuery" });

/** GET /datasets/file: the same, and whether to answer the link as JSON instead of a 302 (a browser showing thumbnails with an API key). */
export const datasetFileRequest = datasetFileQuery
  .extend({
    redirect: z
      .enum(["true", "false"], { error: (issue) => `redirect must be "true" or "false", got ${JSON.stringify(issue.input)}` })
      .optional()
      .meta({ description: 'Additive. "false" answers 200 with the link as JSON (url, content_type, bytes, expires_in_s) instead of the 302.' }),
  })
  .meta({ id: "DatasetFileRequest" });
export type DatasetFileQuery = z.output<typeof datasetFileQuery>;

const datasetClass = z.object({
  count: z.number().int(),
  files: z.array(z.string()),
  meta: z.record(z.string(), z.boolean()).meta({ description: "filename -> whether it has a meta (always true here)." }),
});
export const datasetListResponse = z
  .object({
    role_id: z.string(),
    roi_id: z.string(),
    classes: z.object({ ok: datasetClass.optional(), ng: datasetClass.optional() }).meta({ description: "A label with no file is absent." }),
    ...echo,
  })
  .meta({ id: "DatasetListResponse" });
export type DatasetListResponse = z.infer<typeof datasetListResponse>;

export const datasetMetaResponse = z.looseObject({ ...echo }).meta({
  id: "DatasetMetaResponse",
  description: "The stored meta of the file (the client's meta plus role_id, roi_id, label, filename, recipe_id, created_at_utc).",
});

export const datasetFileResponse = z
  .object({ url: z.string(), content_type: z.string(), bytes: z.number().int(), expires_in_s: z.number().int(), ...echo })
  .meta({
    id: "DatasetFileRedirect",
    description:
      "A 302 whose Location is a short-lived S3 URL of the image bytes (any HTTP client follows it); with redirect=false, this object as a 200 (the same URL in url).",
  });

export const datasetDeleteResponse = z.object({ deleted: z.boolean(), filename: z.string(), ...echo }).meta({ id: "DatasetDeleteResponse" });
export const datasetClearResponse = z.object({ cleared: z.number().int(), label, ...echo }).meta({ id: "DatasetClearResponse" });

export const modelQuery = z.object({ ...identityFields }).meta({ id: "ModelQuery" });
export type ModelQuery = z.output<typeof modelQuery>;

export const stateResponse = z
  .object({
    status: z.literal("ok"),
    memory_fitted: z.boolean(),
    calib_present: z.boolean(),
    active_version: z.number().int().nullable().meta({ description: "The version served by default (null: none)." }),
    role_id: z.string(),
    roi_id: z.string(),
    model_key: z.string(),
    ...echo,
  })
  .meta({ id: "StateResponse" });

export const manifestResponse = z
  .object({
    role_id: z.string(),
    roi_id: z.string(),
    recipe_id: z.string(),
    model_key: z.string(),
    memory: z.boolean(),
    calib: z.record(z.string(), z.unknown()).nullable(),
    datasets: z.object({ role_id: z.string(), roi_id: z.string(), classes: datasetListResponse.shape.classes }),
    fit_id: z.string().nullable().meta({ description: "The fit of the active version's memory." }),
    active_version: z.number().int().nullable().meta({ description: "The version served by default (null: none)." }),
    request_id: z.string(),
  })
  .meta({ id: "ManifestResponse" });

/** Presigned direct uploads: ask for URLs, PUT the bytes to S3, then commit. */
export const createUploadsRequest = z
  .object({
    ...datasetIds,
    label,
    files: z
      .array(
        z.object({
          filename: z.string().max(255).optional().meta({ description: "The client's name for the file (kept in its meta)." }),
          content_type: z.enum(["image/png", "image/jpeg"], {
            error: (issue) => `content_type must be "image/png" or "image/jpeg", got ${JSON.stringify(issue.input)}`,
          }),
        }),
        { error: "files must be a list of {filename, content_type}" },
      )
      .min(1, "files must hold at least one file")
      .max(500, "at most 500 files per call"),
  })
  .meta({ id: "CreateUploadsRequest" });
export type CreateUploadsRequest = z.output<typeof createUploadsRequest>;

export const createUploadsResponse = z
  .object({
    uploads: z.array(
      z.object({
        upload_id: z.string(),
        url: z.string().meta({ description: "PUT the file's bytes here, with the headers below." }),
        method: z.literal("PUT"),
        headers: z.record(z.string(), z.string()),
        expires_at: z.string(),
      }),
    ),
    expires_in_s: z.number().int(),
    ...echo,
  })
  .meta({ id: "CreateUploadsResponse" });

export const commitUploadsRequest = z
  .object({
    ...datasetIds,
    label,
    uploads: z
      .array(
        z.object({
          upload_id: z.string().regex(/^[0-9a-f-]{36}$/, "upload_id is not one this service gave"),
          meta: z.record(z.string(), z.unknown()).optional(),
        }),
        { error: "uploads must be a list of {upload_id, meta}" },
      )
      .min(1, "uploads must hold at least one upload")
      .max(200, "at most 200 uploads per commit call (each is read back and checked within the function's 29 s): commit in batches"),
  })
  .meta({ id: "CommitUploadsRequest" });
export type CommitUploadsRequest = z.output<typeof commitUploadsRequest>;
