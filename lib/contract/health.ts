import { z } from "zod";

export const healthResponse = z
  .object({
    status: z.literal("ok"),
    device: z.literal("cpu"),
    model: z.string().meta({ description: "Id of the ONNX model really loaded (its card's id)." }),
    version: z.string().meta({ description: "Package version of the service." }),
    runtime: z.string(),
    input_size: z.number().int(),
    patch_size: z.number().int(),
    embedding_dim: z.number().int(),
    model_source: z.string(),
    request_id: z.string(),
  })
  .meta({ id: "HealthResponse" });
export type HealthResponse = z.infer<typeof healthResponse>;
