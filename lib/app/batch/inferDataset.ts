import { randomUUID } from "node:crypto";
import type { InferDatasetRequest } from "../../contract/batch";
import type { UseCaseContext } from "../../context";
import { CalibrationMissingError } from "../../errors";
import { answersInRequest } from "../../jobs/estimate";
import type { JobKind } from "../../jobs/handlers";
import type { JobProgress } from "../../jobs/progress";
import { RESULT_URL_SECONDS, startJob } from "../../jobs/start";
import { identityEcho, identityOf } from "../identity";
import { recipeDimensions } from "../lineMetrics";
import type { Services } from "../services";
import { batchCommand, batchEstimateMs, countFiles, requireVersion, scoreDataset, storeBatchResult, type BatchCommand } from "./scoreDataset";

/** Serialised size of the answer, to keep under Lambda's payload limit. */
function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

async function inferDatasetResult(services: Services, command: BatchCommand, progress: JobProgress | null, ctx: UseCaseContext) {
  const { items, fanOut: report } = await scoreDataset(services, command, progress, ctx);
  return {
    status: "ok" as const,
    ...identityEcho(command.identity),
    model_version: command.modelVersion,
    n_total: items.length,
    n_errors: items.filter((i) => i.error !== null).length,
    items,
    fan_out: report,
    timings_ms: ctx.timings.toJSON(),
  };
}

/** POST /infer_dataset: synchronous when the estimate fits SYNC_BUDGET_MS (the GUI's answer), else a job (202). */
export async function inferDatasetOrStartJob(services: Services, input: InferDatasetRequest, ctx: UseCaseContext) {
  const identity = identityOf(input);
  const version = await requireVersion(services, identity, input.model_version, ctx);
  if (!version.calibration || !(version.calibration.threshold > 0)) throw new CalibrationMissingError("calibration_missing");
  const command: BatchCommand = {
    identity,
    modelVersion: version.version,
    labels: input.labels ?? ["ok", "ng"],
    includeHeatmap: input.include_heatmap ?? false,
    defaultMmPerPx: input.default_mm_per_px ?? null,
  };
  const images = (await countFiles(services, identity, command.labels, ctx)).total;
  const estimate = batchEstimateMs(services, images);
  if (!answersInRequest(services.config.fanOut, estimate, ctx.remainingMs())) return startJob(services, "infer_dataset", { ...command }, images, estimate, ctx);
  const result = await inferDatasetResult(services, command, null, ctx);
  if (jsonBytes(result) + 1000 <= services.config.limits.maxResponseBytes) return result;
  // the heatmaps do not fit one Lambda answer: the full result goes to S3, the answer keeps the scores
  const id = randomUUID();
  const key = services.jobs.keys(id).result;
  await services.jobs.putJson(key, result, ctx.timings);
  const url = await services.jobs.resultUrl(id, RESULT_URL_SECONDS);
  ctx.log.warn("batch answer over the payload limit: heatmaps left out of it", { bytes: jsonBytes(result), result_key: key });
  return {
    ...result,
    items: result.items.map(({ heatmap_png_base64: _omit, ...item }) => item),
    heatmaps_omitted: true,
    ...(url ? { result_url: url } : {}),
  };
}

/** /infer_dataset as a job kind. */
export function inferDatasetJob(services: Services): JobKind<BatchCommand> {
  return {
    command: batchCommand,
    run: async (command, progress, ctx) => storeBatchResult(services, await inferDatasetResult(services, command, progress, ctx), progress.id, ctx),
    dimensions: (command) => recipeDimensions(command.identity),
  };
}
