import { z } from "zod";
import { identityEcho, identityFields, timingsMs } from "./common";
import { boolText, fileNamesText, mmPerPxText, versionText } from "./fields";
import { fileParts } from "./files";

export const fitOkRequest = z
  .object({
    ...identityFields,
    mm_per_px: mmPerPxText,
    memory_fit: boolText("memory_fit", false, "true keeps every patch embedding (no coreset subsampling)."),
    use_dataset: boolText("use_dataset", false, "true fits on the stored OK dataset instead of uploaded images."),
    activate: boolText(
      "activate",
      true,
      "true serves the new version at once; false stores it as a candidate (listed, scored only when named by model_version).",
    ),
    append: boolText(
      "append",
      false,
      "true makes the new version from an existing one (model_version, default the active one) plus the good images given (images or dataset_files): its memory keeps every row of the parent's and adds the new images' patches that k-center greedy picks, so no anomaly-map value can rise.",
    ),
    model_version: versionText("model_version", "With append=true: the version to append to; default the active one."),
    dataset_files: fileNamesText(
      "dataset_files",
      500,
      'With append=true: good images already stored in the ROI\'s OK dataset, by their stored names, as JSON text (e.g. ["20261125-101500-123000-3f9c0a1b2c3d.png"]).',
    ),
    images: fileParts({ min: 0, missing: "", description: "PNG/JPEG images of the good ROI, already cropped and rotated by the client." }),
  })
  .superRefine((request, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    if (request.append) {
      if (request.use_dataset) issue("use_dataset", "append=true takes images or dataset_files, not use_dataset=true");
      else if (request.images.length > 0 && request.dataset_files !== undefined) {
        issue("dataset_files", "append=true takes images or dataset_files, not both: send the uploaded images in one request, the stored ones in another");
      } else if (request.images.length === 0 && request.dataset_files === undefined) {
        issue("images", "append=true needs good images: send them in the images field, or name stored OK images in dataset_files");
      }
      return;
    }
    if (request.model_version !== undefined) issue("model_version", "model_version names the version to append to: send it with append=true");
    if (request.dataset_files !== undefined)
      issue("dataset_files", "dataset_files names stored images to append: send it with append=true (use_dataset=true fits on the whole OK dataset)");
    if (!request.use_dataset && request.images.length === 0) issue("images", "No images: send 1 or more PNG/JPEG files in the images field");
  })
  .meta({ id: "FitOkRequest" });
export type FitOkRequest = z.output<typeof fitOkRequest>;

export const fitOkResponse = z
  .object({
    n_embeddings: z.number().int().meta({ description: "Patch embeddings of all images." }),
    coreset_size: z.number().int().meta({ description: "Rows kept in the memory bank." }),
    token_shape: z.tuple([z.number().int(), z.number().int()]),
    coreset_rate_requested: z.number(),
    coreset_rate_applied: z.number(),
    covering_radius: z.number().meta({ description: "Largest distance of a patch to its nearest kept row (full dimension)." }),
    n_images: z.number().int(),
    memory_fit: z.boolean(),
    model: z.string(),
    fit_id: z.string(),
    index: z.enum(["hnsw", "two_stage", "none"]).meta({
      description:
        "What the fit stored for the nearest-neighbour search /infer will use on this memory: an HNSW index (only when KNN_BACKEND=hnsw), the two-stage search's principal basis inside the memory (under KNN_BACKEND=auto: banks of at least 3000 rows of at least 384 dimensions), or nothing (exact search).",
    }),
    ...identityEcho,
    model_version: z.number().int().meta({ description: "The version this fit made (numbers are never reused)." }),
    active_version: z.number().int().nullable().meta({ description: "The version served by default now (the new one unless activate=false)." }),
    source: z.enum(["images", "dataset", "append"]),
    parent_version: z.number().int().nullable().meta({ description: "append: the version it was made from." }),
    calibration_inherited: z.boolean().meta({
      description: "The new version got a calibration (its parent's, or the then active version's) to serve with until it is calibrated itself.",
    }),
    deleted_versions: z.array(z.number().int()).meta({
      description: "Versions removed to keep MAX_MODEL_VERSIONS (oldest first; never the active one, the one active before it, nor the active one's parent).",
    }),
    appended: z
      .object({ images: z.number().int(), patches: z.number().int(), rows_added: z.number().int() })
      .optional()
      .meta({ description: "append: the good images taught, their patches, and the rows k-center greedy added to the parent's." }),
    timings_ms: timingsMs,
    fan_out: z
      .object({
        workers: z.number().int(),
        chunk_images: z.number().int(),
        retried: z.number().int(),
        worker_ms_max: z.number(),
        two_stage_coreset: z.boolean(),
      })
      .optional()
      .meta({ description: "use_dataset=true: how the fit was spread over worker invocations." }),
    request_id: z.string(),
  })
  .meta({ id: "FitOkResponse" });
export type FitOkResponse = z.infer<typeof fitOkResponse>;
