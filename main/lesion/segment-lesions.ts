import { InputError } from '../common/errors.js';
import { structureMask } from '../imaging/labels.js';
import { readNifti } from '../imaging/nifti/read.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims, voxelCount } from '../imaging/volume.js';
import { segmentLesionsByClassifier, type ClassifierOptions, type LesionExample, type LesionProgress } from './classifier.js';
import type { CleanupRule } from './cleanup.js';
import type { LesionImage } from './features.js';
import { segmentLesionsByThreshold } from './threshold.js';

/** The lesion methods: boosted trees fitted on the examples at run time, or the FLAIR-threshold baseline. */
import type { LesionMethod } from './ids.js';
export { LESION_METHODS, type LesionMethod } from './ids.js';

/** Files of one case: its channels (FLAIR first; the others on the same grid) and, for an example, its mask. */
export interface LesionCaseFiles {
  images: string[];
  label?: string;
  /** Label values that mark lesion in a multi-label mask; any non-zero value when absent or empty. */
  labels?: number[];
  /** The first channel already in memory (a DICOM target): `images[0]` then only names it in messages. */
  first?: Volume;
}

export interface LesionRunResult {
  method: LesionMethod;
  /** 0/1 on the target's grid. */
  mask: Uint8Array;
  rule: CleanupRule;
  /** How well the rule did on the examples: held out of the fit (classifier) or fitted on them (threshold). */
  exampleDice: number | null;
  seconds: { read: number; features: number; fit: number; validate: number; predict: number; total: number };
}

/** A case's channels as one LesionImage: every channel on the first one's grid (the same dims and affine). */
export function lesionImage(volumes: Volume[], names: string[]): LesionImage {
  const first = volumes[0];
  const dims = spatialDims(first);
  const n = voxelCount(dims);
  const channels = volumes.map((v, c) => {
    const d = spatialDims(v);
    if (d.some((x, k) => x !== dims[k]))
      throw new InputError(names[c], `is ${d.join('×')}, but ${names[0]} is ${dims.join('×')}: the channels of one case must share a grid`);
    if (!sameAffine(v.affine, first.affine))
      throw new InputError(names[c], `has a different voxel-to-world transform from ${names[0]}: the channels of one case must be co-registered on one grid`);
    const slope = v.slope === 0 || !Number.isFinite(v.slope) ? 1 : v.slope;
    const icpt = Number.isFinite(v.intercept) ? v.intercept : 0;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = v.data[i] * slope + icpt;
    return out;
  });
  return { channels, dims, spacing: first.spacing.slice(0, 3), lrAxis: lrAxis(first.affine) };
}

/** The voxel axis whose direction has the largest left–right (world x) component. */
export function lrAxis(affine: number[][]): number {
  let best = 0;
  for (let c = 1; c < 3; c++) if (Math.abs(affine[0][c]) > Math.abs(affine[0][best])) best = c;
  return best;
}

function sameAffine(a: number[][], b: number[][]): boolean {
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) if (Math.abs(a[r][c] - b[r][c]) > 1e-3 * (c === 3 ? 10 : 1)) return false;
  return true;
}

/** Reads a case's channels (and mask) and checks them: the errors name the file. */
export async function readLesionCase(files: LesionCaseFiles, channels: number): Promise<{ image: LesionImage; label?: Uint8Array }> {
  if (files.images.length !== channels)
    throw new InputError(
      files.images[0],
      `has ${files.images.length} channel(s), the target ${channels}: give every example the target's channels, in its order`,
      'usage',
    );
  const volumes = await Promise.all(files.images.map((f, c) => (c === 0 && files.first ? Promise.resolve(files.first) : readNifti(f))));
  const image = lesionImage(volumes, files.images);
  if (!files.label) return { image };
  const lv = await readNifti(files.label);
  const d = spatialDims(lv);
  if (d.some((x, k) => x !== image.dims[k]))
    throw new InputError(files.label, `is ${d.join('×')}, its image ${files.images[0]} is ${image.dims.join('×')}: a lesion mask must be on its image's grid`);
  return { image, label: structureMask(lv, files.labels) };
}

/**
 * One lesion run on images in memory: the method's mask on the target's grid and how it was made. Plain data in
 * and out, so it runs the same in a compute worker (lesion-job.ts) and in a test.
 */
export function segmentLesions(
  method: LesionMethod,
  target: LesionImage,
  examples: LesionExample[],
  options: Partial<ClassifierOptions> = {},
  progress?: LesionProgress,
): Omit<LesionRunResult, 'seconds'> & { seconds: Omit<LesionRunResult['seconds'], 'read'> } {
  const t0 = performance.now();
  if (method === 'threshold') {
    const r = segmentLesionsByThreshold(target, examples);
    return {
      method,
      mask: r.mask,
      rule: r.rule,
      exampleDice: r.exampleDice,
      seconds: { features: 0, fit: r.seconds, validate: 0, predict: 0, total: r.seconds },
    };
  }
  const r = segmentLesionsByClassifier(target, examples, options, progress);
  return { method, mask: r.mask, rule: r.rule, exampleDice: r.heldOutDice, seconds: { ...r.seconds, total: (performance.now() - t0) / 1000 } };
}
