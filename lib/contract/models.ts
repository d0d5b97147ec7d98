import { z } from "zod";
import { identityEcho, identityFields } from "./common";
import { calibrationFields, calibrationProvenance } from "./calibrateNg";
import { numberField, versionText } from "./fields";
import { storedRuleFields } from "./thresholds";

/** A stored threshold object, as /calibrate_ng or /calibrate_dataset made it (the old backend's fields, the fit it was made for, its rule and error rates). */
const calibration = z
  .looseObject({ ...calibrationFields, ...calibrationProvenance, ...storedRuleFields })
  .nullable()
  .meta({
    description:
      "The version's stored calibration (threshold, p99_ok, ..., and the rule, false_alarm_rate, miss_rate and warnings of a calibration made with rules), or null.",
  });

export const modelVersion = z
  .object({
    version: z.number().int(),
    fit_id: z.string().nullable(),
    created_at: z.string().meta({ description: "ISO 8601." }),
    source: z.enum(["images", "dataset", "append", "legacy"]).meta({
      description:
        "images: /fit_ok on uploaded images; dataset: use_dataset=true; append: taught good images on top of parent_version; legacy: a memory stored before versions.",
    }),
    parent_version: z.number().int().nullable(),
    n_images: z.number().nullable(),
    n_embeddings: z.number().nullable(),
    coreset_size: z.number().nullable(),
    memory_fit: z.boolean().nullable(),
    covering_radius: z.number().nullable(),
    model: z.string().nullable().meta({ description: "The feature extractor's id the version was fitted with." }),
    calibration,
    calibration_inherited: z.boolean().meta({
      description: "The calibration is the one the version got when it was made (its parent's or the then active version's), until it is calibrated itself.",
    }),
    active: z.boolean(),
  })
  .meta({ id: "ModelVersion" });

export const listModelsRequest = z.object({ ...identityFields }).meta({ id: "ListModelsRequest" });
export type ListModelsRequest = z.output<typeof listModelsRequest>;

export const listModelsResponse = z
  .object({
    ...identityEcho,
    active_version: z.number().int().nullable(),
    versions: z.array(modelVersion).meta({ description: "Newest first; empty for a model never fitted." }),
    request_id: z.string(),
  })
  .meta({ id: "ListModelsResponse" });

export const activateModelRequest = z
  .object(
    {
      ...identityFields,
      version: numberField("version", (v) => Number.isInteger(v) && v >= 1, "a whole number >= 1", "The version to serve from now on."),
    },
    { error: () => "The body must be a JSON object" },
  )
  .meta({ id: "ActivateModelRequest", examples: [{ role_id: "Master1", roi_id: "Pattern", version: 2 }] });
export type ActivateModelRequest = z.output<typeof activateModelRequest>;

export const activateModelResponse = z
  .object({
    active_version: z.number().int(),
    previous_version: z.number().int().nullable().meta({ description: "The version active before this call (null: none was)." }),
    ...identityEcho,
    request_id: z.string(),
  })
  .meta({ id: "ActivateModelResponse" });

export const deleteModelVersionRequest = z
  .object({
    ...identityFields,
    version: versionText("version", "The version to delete (not the active one)."),
  })
  .superRefine((request, ctx) => {
    if (request.version === undefined) ctx.addIssue({ code: "custom", path: ["version"], message: "Missing field version" });
  })
  .meta({ id: "DeleteModelVersionRequest" });
export type DeleteModelVersionRequest = z.output<typeof deleteModelVersionRequest>;

export const deleteModelVersionResponse = z
  .object({ deleted: z.literal(true), version: z.number().int(), ...identityEcho, request_id: z.string() })
  .meta({ id: "DeleteModelVersionResponse" });
