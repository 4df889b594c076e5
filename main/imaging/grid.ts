import type { Affine } from './volume.js';

/**
 * How far two affines may differ and still be "the same grid": 1e-3 mm. NIfTI stores the sform as
 * float32, so the same grid written by two tools differs by ~1e-5 mm at 100 mm offsets; anything a
 * thousandth of a millimetre off or more is a different resampling and the label would not line up.
 */
export const GRID_TOLERANCE_MM = 1e-3;

export interface GridLike {
  dims: readonly number[];
  affine: Affine;
}

/** Null when the label's voxels line up one-to-one with the image's; otherwise what differs, in words. */
export function gridMismatch(image: GridLike, label: GridLike, tol = GRID_TOLERANCE_MM): string | null {
  const di = image.dims.slice(0, 3).join('×');
  const dl = label.dims.slice(0, 3).join('×');
  if (di !== dl) return `grid ${dl} does not match the image's ${di}`;
  let worst = 0;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(image.affine[r][c] - label.affine[r][c]));
  if (!(worst <= tol)) {
    return `voxel-to-world transform differs from the image's by up to ${worst.toPrecision(3)} mm (tolerance ${tol} mm): the label is on another grid`;
  }
  return null;
}

/** Whether two volumes share a voxel grid (dims and affine within GRID_TOLERANCE_MM). */
export function sameGrid(a: GridLike, b: GridLike, tol = GRID_TOLERANCE_MM): boolean {
  return gridMismatch(a, b, tol) === null;
}

/** Context volumes must be single 3-D frames: a time series has no one label per voxel. */
export function isSingleFrame(dims: readonly number[]): boolean {
  return dims.slice(3).every((d) => d === 1);
}
