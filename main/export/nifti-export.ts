import { InputError } from '../common/errors.js';
import { sameGrid } from '../imaging/grid.js';
import { writeNifti, type Volume, type VoxelArray } from '../imaging/index.js';

export interface NiftiExportOptions {
  overwrite?: boolean;
  /** Up to 79 characters stored in the header's `descrip` (model, context set...). */
  description?: string;
}

/** Sharing the target's voxel grid (imaging/grid.ts) is the precondition for every export on a target. */
export function assertSameGrid(target: Volume, other: Pick<Volume, 'dims' | 'affine'>, what: string, label?: string): void {
  if (!sameGrid(target, other)) {
    throw new InputError(
      label,
      `${what} grid (${other.dims.slice(0, 3).join('×')}) does not match the target's (${target.dims.slice(0, 3).join('×')}, same affine required)`,
      'grid-mismatch',
    );
  }
}

/**
 * A label mask on the target's native grid: the smallest unsigned type that holds its labels (uint8 for
 * up to 255), intent "label" so viewers use a lookup table, scl_slope 1 (labels are exact integers),
 * and the target's sform/qform codes so the mask overlays the scan it was made on in any tool.
 */
export function maskVolume(target: Volume, labels: ArrayLike<number>, description = 'Neuroverse label mask'): Volume {
  const [nx, ny, nz] = target.dims;
  const n = nx * ny * (nz ?? 1);
  if (labels.length !== n) throw new InputError(undefined, `mask has ${labels.length} voxels, the target ${n}`, 'grid-mismatch');
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0) throw new InputError(undefined, `mask value ${v} at voxel ${i} is not a non-negative integer label`);
    if (v > max) max = v;
  }
  const data: VoxelArray = max <= 255 ? new Uint8Array(n) : max <= 65535 ? new Uint16Array(n) : new Uint32Array(n);
  for (let i = 0; i < n; i++) data[i] = labels[i];
  return {
    dims: [nx, ny, nz ?? 1],
    spacing: target.spacing.slice(0, 3),
    affine: target.affine.map((r) => r.slice()),
    data,
    slope: 1,
    intercept: 0,
    description,
    source: { kind: 'memory', reader: 'neuroverse', seriesInstanceUid: target.source.seriesInstanceUid, studyInstanceUid: target.source.studyInstanceUid },
    xformCodes: target.xformCodes ?? { qform: 1, sform: 1 },
  };
}

/** Writes a label mask of `target` (same grid) as NIfTI-1 with intent label. */
export async function exportMaskNifti(path: string, target: Volume, labels: ArrayLike<number> | Volume, options: NiftiExportOptions = {}): Promise<Volume> {
  let values: ArrayLike<number>;
  if ('dims' in labels) {
    assertSameGrid(target, labels, 'mask', path);
    values = realValues(labels);
  } else {
    values = labels;
  }
  const mask = maskVolume(target, values, options.description ?? 'Neuroverse label mask');
  await writeNifti(path, mask, { intent: 'label', overwrite: options.overwrite, ...codes(target) });
  return mask;
}

/**
 * A generated image (restoration, probability map) on the target's grid: its own data type and
 * scl_slope/scl_inter kept, geometry and xform codes from the target.
 */
export async function exportImageNifti(path: string, target: Volume, image: Volume, options: NiftiExportOptions = {}): Promise<void> {
  assertSameGrid(target, image, 'image', path);
  const out: Volume = {
    ...image,
    affine: target.affine.map((r) => r.slice()),
    spacing: [...target.spacing.slice(0, 3), ...image.spacing.slice(3)],
    description: options.description ?? image.description,
    xformCodes: target.xformCodes ?? { qform: 1, sform: 1 },
  };
  await writeNifti(path, out, { intent: 'none', overwrite: options.overwrite, ...codes(target) });
}

function codes(target: Volume): { qformCode: number; sformCode: number } {
  const sform = target.xformCodes?.sform || target.xformCodes?.qform || 1;
  return { sformCode: sform, qformCode: target.xformCodes?.qform || sform };
}

function realValues(v: Volume): ArrayLike<number> {
  if (v.slope === 1 && v.intercept === 0) return v.data;
  const out = new Float64Array(v.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(v.data[i] * v.slope + v.intercept);
  return out;
}
