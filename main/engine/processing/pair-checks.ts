import { InputError } from '../../common/errors.js';
import { orientationCode } from '../../imaging/reorient.js';
import type { Volume } from '../../imaging/volume.js';
import { spatialDims } from '../../imaging/volume.js';
import type { Task } from '../../common/task.js';
import { labelMembership } from '../../imaging/labels.js';
import { answerTable } from './answer-table.js';
import { zeroWords } from './zero-words.js';

type PairVolumes = { image: Volume; label: Volume; imageFile?: string; labelFile?: string };

/**
 * Cheap checks of one context pair, before any resampling: the label shares its image's grid and axis
 * order, and (segmentation) the chosen label values occur. Every method (model, atlas vote) runs them.
 * Looser than imaging/grid.ts on purpose: the label is read through its image's layout, so only the voxel
 * counts and axis order must agree here; the library applies the full affine tolerance when a pair is stored.
 */
export function checkContextPair(p: PairVolumes, task: Task, labels: number[] | undefined, i: number): void {
  checkPairGrid(p, i);
  checkStructureOccurs(p, task, labels, i);
}

/** The first part of checkContextPair: the label shares its image's grid and axis order. */
export function checkPairGrid(p: PairVolumes, i: number): void {
  const imgDims = spatialDims(p.image);
  const labDims = spatialDims(p.label);
  const labelFile = p.labelFile ?? `context label ${i + 1}`;
  if (imgDims.some((d, k) => d !== labDims[k])) {
    throw new InputError(
      labelFile,
      `label grid ${labDims.join('×')} differs from its image grid ${imgDims.join('×')}${p.imageFile ? ` (${p.imageFile})` : ''}`,
    );
  }
  // Same dims but axes stored in another order would be read voxel for voxel against the wrong anatomy (and
  // the label is reoriented with its image's axis mapping).
  const [io, lo] = [orientationCode(p.image.affine), orientationCode(p.label.affine)];
  if (io !== lo) {
    throw new InputError(
      labelFile,
      `label voxel axes are stored ${lo}, its image's ${io}${p.imageFile ? ` (${p.imageFile})` : ''}: resample the label onto the image first`,
    );
  }
}

/**
 * The second part of checkContextPair: (segmentation) a voxel of the chosen label values occurs. A scan of the
 * label map up to the first such voxel; a caller that has already met one (a sample of the map) may skip it.
 */
export function checkStructureOccurs(p: PairVolumes, task: Task, labels: number[] | undefined, i: number): void {
  const labelFile = p.labelFile ?? `context label ${i + 1}`;
  if (task === 'segment' && !hasStructure(p.label, labels)) {
    throw new InputError(labelFile, labels?.length ? `none of the label values ${labels.join(', ')} occurs in this label map` : 'label map is empty');
  }
}

/** Whether any voxel of the first frame belongs to the structure; stops at the first (no mask is built). */
function hasStructure(v: Volume, labels: number[] | undefined): boolean {
  const member = labelMembership(v, labels);
  const [nx, ny, nz] = spatialDims(v);
  const n = nx * ny * nz;
  const d = v.data;
  const table = answerTable(d, (x) => member(x) === 1);
  // Zero words skipped whole where zero is not the structure (the background of a label map).
  const zw = table && table.answers[table.offset] === 0 ? zeroWords(d) : null;
  if (table && zw) {
    const { answers, offset } = table;
    const { words, shift, per } = zw;
    const full = Math.min(words.length, n >> shift);
    for (let k = 0; k < full; k++) {
      if (words[k] === 0) continue;
      for (let i = k * per; i < k * per + per; i++) if (answers[d[i] + offset] === 1) return true;
    }
    for (let i = full * per; i < n; i++) if (answers[d[i] + offset] === 1) return true;
    return false;
  }
  if (table) {
    const { answers, offset } = table;
    for (let i = 0; i < n; i++) if (answers[d[i] + offset] === 1) return true;
    return false;
  }
  for (let i = 0; i < n; i++) if (member(d[i]) === 1) return true;
  return false;
}
