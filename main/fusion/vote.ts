import { boxWhere } from '../imaging/voxel-box.js';
import type { VoxelBox } from '../imaging/voxel-box.js';
import { labelMembership } from '../imaging/labels.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims, voxelCount } from '../imaging/volume.js';

export interface VoteResult {
  mask: Uint8Array;
  doubt: Uint8Array;
  dims: [number, number, number];
  /** Where any map puts the structure (the union of the maps' boxes), in voxels of the shared grid. */
  box: VoxelBox | null;
}

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
): Promise<VoteResult> {
  return (await majorityVotes(count, read, [labels], signal))[0];
}

/**
 * `majorityVote` for several structures of the same maps, each map read once (a 256³ map takes ~0.1 s to
 * read; a run with two structures used to read each one three times).
 */
export async function majorityVotes(
  count: number,
  read: (i: number) => Promise<Volume>,
  labelSets: readonly (readonly number[] | undefined)[],
  signal?: AbortSignal,
): Promise<VoteResult[]> {
  if (count < 1) throw new Error('majority vote needs at least one label map');
  let votes: Uint16Array[] = [];
  let dims: [number, number, number] | null = null;
  for (let i = 0; i < count; i++) {
    signal?.throwIfAborted();
    const v = await read(i);
    const d = spatialDims(v);
    if (!dims) {
      dims = d;
      votes = labelSets.map(() => new Uint16Array(voxelCount(d)));
    } else if (d.some((x, k) => x !== dims![k])) {
      throw new Error(`label map ${i + 1} is ${d.join('×')}, the others ${dims.join('×')}: align them first`);
    }
    labelSets.forEach((labels, k) => {
      const member = labelMembership(v, labels);
      const n = votes[k];
      const data = v.data;
      for (let j = 0; j < n.length; j++) n[j] += member(data[j]);
    });
  }
  // Mask and doubt depend only on the vote count: tables instead of arithmetic per voxel.
  const maskOf = new Uint8Array(count + 1);
  const doubtOf = new Uint8Array(count + 1);
  for (let c = 0; c <= count; c++) {
    maskOf[c] = 2 * c >= count ? 1 : 0;
    // 1 − |2f − 1| for the fraction f of maps that agree: 0 where all agree, 1 at an even split (×255).
    doubtOf[c] = Math.round(DOUBT_SCALE * (1 - Math.abs((2 * c) / count - 1)));
  }
  return votes.map((n) => {
    const mask = new Uint8Array(n.length);
    const doubt = new Uint8Array(n.length);
    for (let i = 0; i < mask.length; i++) {
      mask[i] = maskOf[n[i]];
      doubt[i] = doubtOf[n[i]];
    }
    // The box of where any map has the structure is the union of the maps' boxes.
    return { mask, doubt, dims: dims!, box: boxWhere(n, dims!) };
  });
}

/** Doubt maps are stored as uint8: 255 is "the maps split evenly" (NIfTI scl_slope 1/255 gives 0–1). */
export const DOUBT_SCALE = 255;

/** Voxels whose label is in doubt: doubt of at least one half (the number the run summary turns into mL). */
export function doubtfulVoxels(doubt: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < doubt.length; i++) if (2 * doubt[i] >= DOUBT_SCALE) n++;
  return n;
}
