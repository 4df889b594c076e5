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
  const wanted = labels && labels.length > 0 ? new Set(labels) : null;
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
    addVotes(votes!, v, wanted);
  }
  const mask = new Uint8Array(votes!.length);
  for (let i = 0; i < mask.length; i++) mask[i] = 2 * votes![i] >= count ? 1 : 0;
  return { mask, dims: dims! };
}

function addVotes(votes: Uint16Array, v: Volume, wanted: Set<number> | null): void {
  const d = v.data;
  const slope = v.slope === 0 || !Number.isFinite(v.slope) ? 1 : v.slope;
  const icpt = Number.isFinite(v.intercept) ? v.intercept : 0;
  const n = votes.length;
  if (slope === 1 && icpt === 0) {
    for (let i = 0; i < n; i++) {
      const x = d[i];
      if (wanted ? wanted.has(x) : x !== 0) votes[i]++;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const x = Math.round(d[i] * slope + icpt);
    if (wanted ? wanted.has(x) : x !== 0) votes[i]++;
  }
}
