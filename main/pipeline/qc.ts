import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import { labelMembership } from '../imaging/labels.js';
import type { VoxelBox } from '../imaging/voxel-box.js';
import { localCorrelation, regionAround } from './context-choice.js';

/**
 * Checks of the aligned context a radiologist would make before trusting a run: does each example look like
 * the target where the structure is, does it hold the structure at a plausible size, and is the structure
 * inside both fields of view. Each finding names the pair and the structure, with the measured value.
 */
export type QcKind = 'contrast' | 'low-similarity' | 'structure-missing' | 'structure-size' | 'pair-field-of-view' | 'target-field-of-view';

export interface QcWarning {
  kind: QcKind;
  /** Index into the structure's pairs, when the finding is about one pair. */
  pair?: number;
  /** Index into the run's structures. */
  structure: number;
  /** The measured value the finding rests on (correlation, size ratio, covered fraction). */
  value?: number;
  message: string;
}

/** Below this mean local correlation the pair's alignment or anatomy is doubtful (dev heads after affine: 0.35–0.5). */
export const LOW_SIMILARITY = 0.2;
/** A warped structure this many times smaller or larger than the median of the pairs: the registration likely failed. */
const SIZE_RATIO = 2;
/** Share of the structure (where most pairs put it) the pair's image must cover after alignment. */
const MIN_COVER = 0.9;

export interface QcPairs {
  count: number;
  readImage(i: number): Promise<Volume>;
  readLabel(i: number): Promise<Volume>;
  /** How the pair is named in messages ("sub-02_T1.nii.gz", "pair 3"). */
  name(i: number): string;
}

export async function contextQc(target: Volume, pairs: QcPairs, structures: ReadonlyArray<{ name: string; labels?: readonly number[] }>, signal?: AbortSignal): Promise<QcWarning[]> {
  const dims = spatialDims(target);
  const [nx, ny] = dims;
  const found: QcWarning[] = [];
  // Per structure and pair: voxel count and box of the warped structure.
  const counts = structures.map(() => new Array<number>(pairs.count).fill(0));
  const boxes: (VoxelBox | null)[][] = structures.map(() => new Array<VoxelBox | null>(pairs.count).fill(null));
  // How many pairs put the structure at each voxel: the majority is where the images must have signal.
  const votes = structures.map(() => new Uint8Array(nx * ny * dims[2]));
  for (let i = 0; i < pairs.count; i++) {
    signal?.throwIfAborted();
    const label = await pairs.readLabel(i);
    structures.forEach((s, k) => {
      const member = labelMembership(label, s.labels);
      const lo = [nx, ny, dims[2]];
      const hi = [-1, -1, -1];
      let n = 0;
      for (let z = 0, o = 0; z < dims[2]; z++)
        for (let y = 0; y < ny; y++)
          for (let x = 0; x < nx; x++, o++) {
            if (member(label.data[o]) !== 1) continue;
            n++;
            if (votes[k][o] < 255) votes[k][o]++;
            if (x < lo[0]) lo[0] = x;
            if (x > hi[0]) hi[0] = x;
            if (y < lo[1]) lo[1] = y;
            if (y > hi[1]) hi[1] = y;
            if (z < lo[2]) lo[2] = z;
            if (z > hi[2]) hi[2] = z;
          }
      counts[k][i] = n;
      boxes[k][i] = n ? { lo: lo as [number, number, number], hi: hi as [number, number, number] } : null;
    });
  }
  structures.forEach((s, k) => {
    const present = counts[k].filter((n) => n > 0).sort((a, b) => a - b);
    const median = present.length ? present[Math.floor(present.length / 2)] : 0;
    counts[k].forEach((n, i) => {
      if (n === 0) found.push({ kind: 'structure-missing', pair: i, structure: k, message: `${pairs.name(i)} has no voxel of ${s.name} after alignment: it adds nothing but a vote against` });
      else if (present.length >= 3 && (n > SIZE_RATIO * median || n * SIZE_RATIO < median)) {
        found.push({ kind: 'structure-size', pair: i, structure: k, value: round(n / median), message: `${pairs.name(i)}: ${s.name} is ${round(n / median)}× the other pairs' size after alignment; its registration may have failed` });
      }
    });
    // The target's field of view: aligned structures that reach the grid's edge are cut by it.
    const edge = boxes[k].filter((b) => b && [0, 1, 2].some((a) => b.lo[a] === 0 || b.hi[a] === dims[a] - 1)).length;
    if (edge > 0 && edge * 2 >= present.length) found.push({ kind: 'target-field-of-view', structure: k, value: edge, message: `${s.name} reaches the edge of the target's field of view in ${edge} of ${present.length} aligned pairs: the scan may not cover all of it` });
  });
  const half = Math.ceil(pairs.count / 2);
  for (let i = 0; i < pairs.count; i++) {
    signal?.throwIfAborted();
    const image = await pairs.readImage(i);
    structures.forEach((s, k) => {
      const box = boxes[k][i];
      if (!box) return;
      const cover = covered(image, votes[k], half);
      if (cover < MIN_COVER) {
        found.push({ kind: 'pair-field-of-view', pair: i, structure: k, value: round(cover), message: `${pairs.name(i)} covers only ${Math.round(cover * 100)} % of ${s.name}'s region after alignment: its field of view is unlike the target's` });
      }
      const region = regionAround(box, dims, target.spacing);
      const sim = localCorrelation(target, image, region);
      if (sim < 0) found.push({ kind: 'contrast', pair: i, structure: k, value: round(sim), message: `${pairs.name(i)} looks like the target in inverted contrast around ${s.name} (local correlation ${round(sim)}): another sequence than the target's?` });
      else if (sim < LOW_SIMILARITY) found.push({ kind: 'low-similarity', pair: i, structure: k, value: round(sim), message: `${pairs.name(i)} looks little like the target around ${s.name} after alignment (local correlation ${round(sim)}): a failed registration, or other anatomy or contrast` });
    });
  }
  return found;
}

/**
 * Fraction of the majority's structure voxels where the aligned image has signal: outside a pair's field of
 * view (or its brain mask) the resampled image is 0, and tissue of the structure never is.
 */
function covered(image: Volume, votes: Uint8Array, half: number): number {
  let inside = 0;
  let all = 0;
  for (let o = 0; o < votes.length; o++) {
    if (votes[o] < half) continue;
    all++;
    if (image.data[o] !== 0) inside++;
  }
  return all ? inside / all : 1;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
