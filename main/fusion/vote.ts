import { structureMask } from '../imaging/labels.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims, voxelCount } from '../imaging/volume.js';

/**
 * Majority vote of label maps that already share one voxel grid (aligned context labels): a voxel is in the
 * structure when at least half of the maps put one of `labels` there (any non-zero value when `labels` is
 * empty). Maps are read one at a time, so memory does not grow with their number.
 */
export async function majorityVote(count: number, read: (i: number) => Promise<Volume>, labels: readonly number[] | undefined, signal?: AbortSignal): Promise<{ mask: Uint8Array; dims: [number, number, number] }> {
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
  for (let i = 0; i < mask.length; i++) mask[i] = 2 * votes![i] >= count ? 1 : 0;
  return { mask, dims: dims! };
}

function addVotes(votes: Uint16Array, v: Volume, labels: readonly number[] | undefined): void {
  const m = structureMask(v, labels);
  for (let i = 0; i < votes.length; i++) votes[i] += m[i];
}
