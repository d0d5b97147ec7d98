import type { FitOkRequest } from "../../contract/fitOk";
import type { ResultOf, Routes } from "../../contract/routes";
import type { UseCaseContext } from "../../context";
import { modelKeys } from "../../store/keys";
import { identityOf } from "../identity";
import type { Services } from "../services";
import { appendFit } from "./appendFit";
import { fitFromDatasetOrStartJob } from "./datasetFit";
import { fitUploadedImages } from "./fitImages";

/**
 * POST /fit_ok: a new version of the model, from the uploaded images, or (use_dataset=true) from the
 * stored OK dataset (synchronously or as a job), or (append=true) from a version plus good images.
 */
export async function fitOk(services: Services, input: FitOkRequest, ctx: UseCaseContext): Promise<ResultOf<Routes["fitOk"]>> {
  if (input.append) return appendFit(services, input, ctx);
  if (!input.use_dataset) return fitUploadedImages(services, input, ctx);
  const identity = identityOf(input);
  modelKeys(services.config.s3.prefix, identity);
  return fitFromDatasetOrStartJob(services, { identity, mmPerPx: input.mm_per_px, keepAll: input.memory_fit, activate: input.activate }, ctx);
}
