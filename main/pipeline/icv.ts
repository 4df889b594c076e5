import type { ComputePool } from '../compute/pool.js';
import type { IcvEstimate } from '../export/volumetry/types.js';
import { readNifti } from '../imaging/index.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims, voxelCount, voxelVolumeMm3 } from '../imaging/volume.js';
import { alignPairs } from '../registration/align.js';
import type { RegistrationCache } from '../registration/cache.js';
import type { AlignMode, PairFiles } from '../registration/types.js';
import type { RegistrationJobs } from '../registration/registration-jobs.js';

/** Atlas heads for the intracranial volume, and how their voted volume maps onto a reference definition of it. */
export interface IcvAtlasSet {
  /** A T1 image (`imageFile`) and its intracranial mask (`labelFile`, non-zero inside) per atlas. */
  atlases: PairFiles[];
  /** Multiplies the voted volume (and each atlas's): the set's calibration against a reference ICV; 1 = none. */
  scale?: number;
  /** What the atlases are and where their calibration comes from, for the report's method line. */
  name?: string;
  /** How many of the atlases a scan uses (default all): more cost a registration each and agree no better. */
  use?: number;
}

export interface IcvOptions extends IcvAtlasSet {
  pool: ComputePool<RegistrationJobs>;
  cache: RegistrationCache;
  target: Volume;
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
  // Each worker's WebAssembly heap is hundreds of MB; a batch of scans must not carry them from one scan to the next.
  await o.pool.releaseIdle();
  const n = voxelCount(spatialDims(o.target));
  const votes = new Uint8Array(n);
  const perAtlasMl: number[] = [];
  // A calibrated set's scale applies to every volume it gives, so its spread warning compares like with like.
  const mm3 = voxelVolumeMm3(o.target.affine) * (o.scale ?? 1);
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
    method: `majority vote of ${k} atlas intracranial mask${k === 1 ? '' : 's'} registered to the scan (${mode}, elastix)${
      o.scale !== undefined && o.scale !== 1 ? ` × ${o.scale}` : ''
    }${o.name ? `; ${o.name}` : ''}`,
    perAtlasMl,
    mask,
    alignSeconds: aligned.seconds,
  };
}

/** Atlases that disagree this much mean at least one registration or mask is off: say so rather than average it away. */
export const ICV_SPREAD_WARNING = 0.3;

/** What a report should say of an estimate: a warning where its atlases disagree by more than ICV_SPREAD_WARNING. */
export function icvWarnings(r: IcvEstimate): string[] {
  const per = r.perAtlasMl ?? [];
  if (per.length < 2) return [];
  const spread = (Math.max(...per) - Math.min(...per)) / r.volumeMl;
  return spread > ICV_SPREAD_WARNING
    ? [`the intracranial atlases disagree (${per.map((x) => x.toFixed(0)).join(', ')} mL): the intracranial volume is uncertain`]
    : [];
}
