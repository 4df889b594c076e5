/**
 * Chooses the mini-context size l from a memory budget. The estimate is deliberately simple: a fixed part
 * (target features + running means + the decoder's working set, all proportional to Σ c_r·voxels_r) plus a
 * per-pair part for the context branch's activations. The factors were set from ORT CPU peaks reported in
 * docs and are meant to be conservative; l only trades speed for memory, never the result.
 */
export interface MemoryModel {
  /** Bytes of one fp32 copy of every stage's feature map at the model grid (Σ c_r · voxels_r · 4). */
  featureBytes: number;
}

export function memoryModel(channels: number[], grid: readonly number[]): MemoryModel {
  let voxels = grid[0] * grid[1] * grid[2];
  let bytes = 0;
  for (const c of channels) {
    bytes += c * voxels * 4;
    voxels /= 8;
  }
  return { featureBytes: bytes };
}

/**
 * Fitted to the platform notes' ORT CPU peaks for the official model at 128³ (5.9 GiB at l = 1, 21.3 GiB at
 * l = 8, one feature copy ≈ 0.36 GB): ≈ 11 copies fixed, ≈ 6.6 per pair, rounded up.
 */
const FIXED_COPIES = 12;
const PER_PAIR_COPIES = 7;

export function estimatePeakBytes(model: MemoryModel, l: number): number {
  return model.featureBytes * (FIXED_COPIES + PER_PAIR_COPIES * l);
}

export function chooseMiniContextSize(channels: number[], grid: readonly number[], L: number, budgetBytes: number): number {
  const m = memoryModel(channels, grid);
  let l = Math.floor((budgetBytes / m.featureBytes - FIXED_COPIES) / PER_PAIR_COPIES);
  if (!Number.isFinite(l)) l = 1;
  return Math.max(1, Math.min(L, l));
}
