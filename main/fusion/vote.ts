import { structureMask } from '../imaging/labels.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims, voxelCount } from '../imaging/volume.js';

/**
 * Majority vote of label maps that already share one voxel grid (aligned context labels): a voxel is in the
 * structure when at least half of the maps put one of `labels` there (any non-zero value when `labels` is
 * empty). Maps are read one at a time, so memory does not grow with their number.
 */
export async function majorityVote(
  count: number,
  read: (i: number) => Promise<Volume>,
  labels: readonly number[] | undefined,
  signal?: AbortSignal,
): Promise<{ mask: Uint8Array; doubt: Uint8Array; dims: [number, number, number] }> {
  if (count < 1) throw new Error('majority vote needs at least one label map');
  let votes: Uint16Array | null = null;
  let dims: [number, number, number] | null = null;
  for (let i = 0; i < count; i++) {
    signal?.throwIfAborted();
    const v = await read(i);
    const d = spatialDims(v);
    if (!dims) {
      dims = d;
      votes = new Uint16Array(voxelCount(d));
    } else if (d.some((x, k) => x !== dims![k])) {
      throw new Error(`label map ${i + 1} is ${d.join('×')}, the others ${dims.join('×')}: align them first`);
    }
    addVotes(votes!, v, labels);
  }
  const mask = new Uint8Array(votes!.length);
  const doubt = new Uint8Array(votes!.length);
  for (let i = 0; i < mask.length; i++) {
    mask[i] = 2 * votes![i] >= count ? 1 : 0;
    // 1 − |2f − 1| for the fraction f of maps that agree: 0 where all agree, 1 at an even split (×255).
    doubt[i] = Math.round(DOUBT_SCALE * (1 - Math.abs((2 * votes![i]) / count - 1)));
  }
  return { mask, doubt, dims: dims! };
}

/** Doubt maps are stored as uint8: 255 is "the maps split evenly" (NIfTI scl_slope 1/255 gives 0–1). */
export const DOUBT_SCALE = 255;

/** Voxels whose label is in doubt: doubt of at least one half (the number the run summary turns into mL). */
export function doubtfulVoxels(doubt: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < doubt.length; i++) if (2 * doubt[i] >= DOUBT_SCALE) n++;
  return n;
}

function addVotes(votes: Uint16Array, v: Volume, labels: readonly number[] | undefined): void {
  const m = structureMask(v, labels);
  for (let i = 0; i < votes.length; i++) votes[i] += m[i];
}
