import type { InspectResult } from "../inspection/inspect";

/** One image of a batch, as the old backend's /infer_dataset lists it (plus additive fields). */
export interface BatchItem {
  readonly label: "ok" | "ng";
  readonly filename: string;
  readonly mm_per_px: number | null;
  readonly score: number | null;
  readonly threshold: number | null;
  readonly regions: InspectResult["regions"];
  readonly n_regions: number;
  readonly error: string | null;
  readonly heatmap_png_base64?: string | null;
  readonly area_rule?: InspectResult["area_rule"];
  readonly calibration_stale?: boolean;
}

/** An image of a batch that could not be scored: `error` says why. */
export function errorItem(file: { label: "ok" | "ng"; filename: string }, mmPerPx: number | null, error: string): BatchItem {
  return { label: file.label, filename: file.filename, mm_per_px: mmPerPx, score: null, threshold: null, regions: [], n_regions: 0, error };
}

export function batchItem(file: { label: "ok" | "ng"; filename: string }, mmPerPx: number, result: InspectResult, includeHeatmap: boolean): BatchItem {
  return {
    label: file.label,
    filename: file.filename,
    mm_per_px: mmPerPx,
    score: result.score,
    threshold: result.threshold,
    regions: result.regions,
    n_regions: result.regions.length,
    error: null,
    ...(includeHeatmap ? { heatmap_png_base64: result.heatmap_png_base64 } : {}),
    area_rule: result.area_rule,
    calibration_stale: result.calibration_stale,
  };
}
