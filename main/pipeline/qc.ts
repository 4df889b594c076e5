import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import { labelMembership } from '../imaging/labels.js';
import { scanWhere, type VoxelBox } from '../imaging/voxel-box.js';
import { localCorrelation, regionAround } from './context-choice.js';

/**
 * Checks of the aligned context a radiologist would make before trusting a run: does each example look like
 * the target where the structure is, does it hold the structure at a plausible size, and is the structure
 * inside both fields of view. Each finding names the pair and the structure, with the measured value.
 */
/** restoration-harms: a restoration made its own examples worse than their inputs (restoration/guard.ts). */
export type QcKind =
  'contrast' | 'low-similarity' | 'structure-missing' | 'structure-size' | 'pair-field-of-view' | 'target-field-of-view' | 'restoration-harms';

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

/** All checks on pairs read once here: the labels, then the images. */
export async function contextQc(target: Volume, pairs: QcPairs, structures: ReadonlyArray<QcStructure>, signal?: AbortSignal): Promise<QcWarning[]> {
  const qc = new ContextQc(target, pairs.count, structures);
  for (let i = 0; i < pairs.count; i++) {
    signal?.throwIfAborted();
    qc.addLabel(i, await pairs.readLabel(i));
  }
  return qc.finish(pairs, signal);
}

export interface QcStructure {
  name: string;
  labels?: readonly number[];
}

/**
 * The checks in two passes, so that the label pass can ride on a read the run makes anyway (the vote's):
 * addLabel for every pair's aligned label map, then finish reads the aligned images.
 */
export class ContextQc {
  private readonly dims: number[];
  /** Per structure and pair: voxel count and box of the warped structure. */
  private readonly counts: number[][];
  private readonly boxes: (VoxelBox | null)[][];
  /** How many pairs put the structure at each voxel: the majority is where the images must have signal. */
  private readonly votes: Uint8Array[];

  constructor(
    private readonly target: Volume,
    private readonly count: number,
    private readonly structures: ReadonlyArray<QcStructure>,
  ) {
    this.dims = spatialDims(target);
    this.counts = structures.map(() => new Array<number>(count).fill(0));
    this.boxes = structures.map(() => new Array<VoxelBox | null>(count).fill(null));
    this.votes = structures.map(() => new Uint8Array(this.dims[0] * this.dims[1] * this.dims[2]));
  }

  addLabel(i: number, label: Volume): void {
    this.structures.forEach((s, k) => {
      const member = labelMembership(label, s.labels);
      const v = this.votes[k];
      const scan = scanWhere(
        label.data,
        this.dims,
        (x) => member(x) === 1,
        (o) => {
          if (v[o] < 255) v[o]++;
        },
      );
      this.counts[k][i] = scan.count;
      this.boxes[k][i] = scan.box;
    });
  }

  async finish(pairs: Pick<QcPairs, 'readImage' | 'name'>, signal?: AbortSignal): Promise<QcWarning[]> {
    const { dims, counts, boxes, votes, target } = this;
    const found: QcWarning[] = [];
    this.structures.forEach((s, k) => {
      const present = counts[k].filter((n) => n > 0).sort((a, b) => a - b);
      const median = present.length ? present[Math.floor(present.length / 2)] : 0;
      counts[k].forEach((n, i) => {
        if (n === 0)
          found.push({
            kind: 'structure-missing',
            pair: i,
            structure: k,
            message: `${pairs.name(i)} has no voxel of ${s.name} after alignment: it adds nothing but a vote against`,
          });
        else if (present.length >= 3 && (n > SIZE_RATIO * median || n * SIZE_RATIO < median)) {
          found.push({
            kind: 'structure-size',
            pair: i,
            structure: k,
            value: round(n / median),
            message: `${pairs.name(i)}: ${s.name} is ${round(n / median)}× the other pairs' size after alignment; its registration may have failed`,
          });
        }
      });
      // The target's field of view: aligned structures that reach the grid's edge are cut by it.
      const edge = boxes[k].filter((b) => b && [0, 1, 2].some((a) => b.lo[a] === 0 || b.hi[a] === dims[a] - 1)).length;
      if (edge > 0 && edge * 2 >= present.length)
        found.push({
          kind: 'target-field-of-view',
          structure: k,
          value: edge,
          message: `${s.name} reaches the edge of the target's field of view in ${edge} of ${present.length} aligned pairs: the scan may not cover all of it`,
        });
    });
    const half = Math.ceil(this.count / 2);
    for (let i = 0; i < this.count; i++) {
      signal?.throwIfAborted();
      const image = await pairs.readImage(i);
      this.structures.forEach((s, k) => {
        const box = boxes[k][i];
        if (!box) return;
        const cover = covered(image, votes[k], half);
        if (cover < MIN_COVER) {
          found.push({
            kind: 'pair-field-of-view',
            pair: i,
            structure: k,
            value: round(cover),
            message: `${pairs.name(i)} covers only ${Math.round(cover * 100)} % of ${s.name}'s region after alignment: its field of view is unlike the target's`,
          });
        }
        const region = regionAround(box, dims, target.spacing);
        const sim = localCorrelation(target, image, region);
        if (sim < 0)
          found.push({
            kind: 'contrast',
            pair: i,
            structure: k,
            value: round(sim),
            message: `${pairs.name(i)} looks like the target in inverted contrast around ${s.name} (local correlation ${round(sim)}): another sequence than the target's?`,
          });
        else if (sim < LOW_SIMILARITY)
          found.push({
            kind: 'low-similarity',
            pair: i,
            structure: k,
            value: round(sim),
            message: `${pairs.name(i)} looks little like the target around ${s.name} after alignment (local correlation ${round(sim)}): a failed registration, or other anatomy or contrast`,
          });
      });
    }
    return found;
  }
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
