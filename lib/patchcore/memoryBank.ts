import type { PatchGrid } from "../features/extractor";
import { InvalidInputError } from "../errors";
import { kCenterGreedy } from "./coreset";
import type { ShortlistBasis } from "./knn/shortlistBasis";
import { concatRows, gatherRows, l2NormalizeRows } from "./vectors";

/** What a memory records about its fit (stored as the `metadata` JSON of the .npz). */
export interface MemoryMetadata {
  readonly model_id?: string;
  readonly input_size?: number;
  readonly coreset_rate_requested?: number;
  readonly coreset_rate_applied?: number;
  readonly n_embeddings?: number;
  readonly coreset_size?: number;
  readonly covering_radius?: number;
  readonly memory_fit?: boolean;
  readonly seed?: number;
  readonly n_images?: number;
  readonly mm_per_px?: number;
  readonly created_at?: string;
  readonly version?: string;
  /** Identifies one fit; the stored index carries the same id so a reader never pairs them across fits. */
  readonly fit_id?: string;
  readonly [key: string]: unknown;
}

/** PatchCore memory: L2-normalised patch embeddings Float32Array [count, dim] of one token grid. */
export interface MemoryBank {
  readonly embeddings: Float32Array;
  readonly count: number;
  readonly dim: number;
  readonly tokenH: number;
  readonly tokenW: number;
  readonly metadata: MemoryMetadata;
  /** The two-stage search's basis, found at fit for banks that search will score (lib/patchcore/knn/shortlistBasis.ts). */
  readonly shortlistBasis?: ShortlistBasis;
}

export interface FitOptions {
  readonly coresetRate: number;
  /** true keeps every patch embedding (no coreset), as the old backend's memory_fit. */
  readonly keepAll: boolean;
  readonly seed: number;
  readonly threads: number;
  readonly projectionDim?: number;
}

export interface FitStats {
  readonly nEmbeddings: number;
  readonly coresetSize: number;
  readonly rateRequested: number;
  readonly rateApplied: number;
  readonly coveringRadius: number;
}

/** 400 when the images of one fit do not give the same token grid. */
export function checkSameGrid(grids: readonly PatchGrid[]): void {
  const first = grids[0];
  if (!first) throw new InvalidInputError("No images to fit");
  grids.forEach((g, i) => {
    if (g.h !== first.h || g.w !== first.w || g.dim !== first.dim) {
      throw new InvalidInputError(`Token grid mismatch: image 0 gives ${first.h}x${first.w}x${first.dim}, image ${i} gives ${g.h}x${g.w}x${g.dim}`);
    }
  });
}

/**
 * The memory bank of a fit's kept rows (L2-normalised, Float32Array [count, dim]) on a tokenH x
 * tokenW grid, its metadata recording how it was made: the fit's own (`metadata`) and the
 * coreset's figures. Every fit ends here: one pass over uploaded images or a chunked dataset fit.
 */
export function memoryBankOf(
  rows: Float32Array,
  dim: number,
  grid: { readonly h: number; readonly w: number },
  stats: FitStats,
  fit: { readonly keepAll: boolean; readonly seed: number; readonly nImages: number },
  metadata: MemoryMetadata,
): MemoryBank {
  return {
    embeddings: rows,
    count: rows.length / dim,
    dim,
    tokenH: grid.h,
    tokenW: grid.w,
    metadata: {
      ...metadata,
      coreset_rate_requested: stats.rateRequested,
      coreset_rate_applied: stats.rateApplied,
      n_embeddings: stats.nEmbeddings,
      coreset_size: stats.coresetSize,
      covering_radius: stats.coveringRadius,
      memory_fit: fit.keepAll,
      seed: fit.seed,
      n_images: fit.nImages,
    },
  };
}

/** Patch grids of good images -> memory bank (all patches L2-normalised, then coreset unless keepAll). */
export async function fitMemoryBank(
  grids: readonly PatchGrid[],
  options: FitOptions,
  metadata: MemoryMetadata = {},
): Promise<{ bank: MemoryBank; stats: FitStats }> {
  checkSameGrid(grids);
  const { h, w, dim } = grids[0]!;
  const all = l2NormalizeRows(concatRows(grids.map((g) => g.embeddings)), dim);
  const n = all.length / dim;
  const fit = { keepAll: options.keepAll, seed: options.seed, nImages: grids.length };
  // memory_fit keeps every patch: the rate asked for is 1 (the old backend reports 1.0 too)
  if (options.keepAll) {
    const stats: FitStats = { nEmbeddings: n, coresetSize: n, rateRequested: 1, rateApplied: 1, coveringRadius: 0 };
    return { bank: memoryBankOf(all, dim, { h, w }, stats, fit, metadata), stats };
  }
  const coreset = await kCenterGreedy(all, dim, {
    rate: options.coresetRate,
    seed: options.seed,
    projectionDim: options.projectionDim ?? 128,
    threads: options.threads,
  });
  const stats: FitStats = {
    nEmbeddings: n,
    coresetSize: coreset.indices.length,
    rateRequested: coreset.rateRequested,
    rateApplied: coreset.rateApplied,
    coveringRadius: coreset.coveringRadius,
  };
  return { bank: memoryBankOf(gatherRows(all, dim, coreset.indices), dim, { h, w }, stats, fit, metadata), stats };
}
