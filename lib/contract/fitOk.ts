import { z } from "zod";
import { identityEcho, identityFields, timingsMs } from "./common";
import { boolText, mmPerPxText } from "./fields";
import { fileParts } from "./files";

export const fitOkRequest = z
  .object({
    ...identityFields,
    mm_per_px: mmPerPxText,
    memory_fit: boolText("memory_fit", false, "true keeps every patch embedding (no coreset subsampling)."),
    use_dataset: boolText("use_dataset", false, "true fits on the stored OK dataset instead of uploaded images."),
    images: fileParts({ min: 0, missing: "", description: "PNG/JPEG images of the good ROI, already cropped and rotated by the client." }),
  })
  .superRefine((request, ctx) => {
    if (!request.use_dataset && request.images.length === 0) {
      ctx.addIssue({ code: "custom", path: ["images"], message: "No images: send 1 or more PNG/JPEG files in the images field" });
    }
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
