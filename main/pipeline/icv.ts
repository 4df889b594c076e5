import type { ComputePool } from '../compute/pool.js';
import type { IcvEstimate } from '../export/volumetry/types.js';
import { readNifti } from '../imaging/index.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims, voxelCount, voxelVolumeMm3 } from '../imaging/volume.js';
import { alignPairs } from '../registration/align.js';
import type { RegistrationCache } from '../registration/cache.js';
import type { AlignMode, PairFiles } from '../registration/types.js';
import type { RegistrationJobs } from '../registration/registration-jobs.js';

export interface IcvOptions {
  pool: ComputePool<RegistrationJobs>;
  cache: RegistrationCache;
  target: Volume;
  /** Atlas heads: a T1 image (`imageFile`) and its intracranial mask (`labelFile`, non-zero inside). */
  atlases: PairFiles[];
  /** Affine by default: a head's outline is what matters, and it registers in a few seconds per atlas. */
  align?: Exclude<AlignMode, 'none'>;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, pair: { cached: boolean; seconds: number }) => void;
}

export interface IcvResult extends IcvEstimate {
  /** 1 inside the fused intracranial mask, on the target's grid (for QC overlays). */
  mask: Uint8Array;
  alignSeconds: number;
}

/**
 * Intracranial volume of the target by multi-atlas label fusion: each atlas head is registered to the target
 * (elastix, the same registration and cache as context pairs), its intracranial mask resampled onto the
 * target's grid, and a voxel counts as intracranial where more than half of the atlases say so. Each atlas's
 * own warped volume is returned too: their spread says how far the atlases disagree.
 */
export async function estimateIcv(o: IcvOptions): Promise<IcvResult> {
  if (o.atlases.length === 0) throw new Error('estimating the intracranial volume needs at least one atlas (image and mask)');
  const mode = o.align ?? 'affine';
  const aligned = await alignPairs({
    pool: o.pool,
    cache: o.cache,
    target: o.target,
    mode,
    kind: 'label',
    pairs: o.atlases,
    needImages: false,
    signal: o.signal,
    onProgress: o.onProgress,
  });
  const n = voxelCount(spatialDims(o.target));
  const votes = new Uint8Array(n);
  const perAtlasMl: number[] = [];
  const mm3 = voxelVolumeMm3(o.target.affine);
  for (const p of aligned.pairs) {
    const warped = await readNifti(p.labelFile);
    const d = warped.data;
    const [slope, icpt] = [warped.slope || 1, warped.intercept || 0];
    let inside = 0;
    for (let i = 0; i < n; i++)
      if (d[i] * slope + icpt !== 0) {
        votes[i]++;
        inside++;
      }
    perAtlasMl.push((inside * mm3) / 1000);
  }
  const mask = new Uint8Array(n);
  const need = Math.floor(aligned.pairs.length / 2) + 1;
  let count = 0;
  for (let i = 0; i < n; i++)
    if (votes[i] >= need) {
      mask[i] = 1;
      count++;
    }
  const k = aligned.pairs.length;
  return {
    volumeMl: (count * mm3) / 1000,
    method: `majority vote of ${k} atlas intracranial mask${k === 1 ? '' : 's'} registered to the scan (${mode}, elastix)`,
    perAtlasMl,
    mask,
    alignSeconds: aligned.seconds,
  };
}
