import type { Affine } from '../volume.js';

export type Vec3 = [number, number, number];

export const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: readonly number[], b: readonly number[]): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/**
 * Voxel → RAS affine of a stack of slices. Voxel i runs along the row direction (columns of the image),
 * j along the column direction (rows), k from the first to the last slice in sorted order. DICOM is LPS,
 * NIfTI is RAS: the x and y rows change sign.
 */
export function sliceStackAffine(
  orientation: readonly number[],
  pixelSpacing: readonly number[],
  firstPosition: readonly number[],
  sliceStep: readonly number[],
): Affine {
  const row = orientation.slice(0, 3);
  const col = orientation.slice(3, 6);
  const [dRow, dCol] = pixelSpacing; // between rows (along col), between columns (along row)
  const lps = [0, 1, 2].map((a) => [row[a] * dCol, col[a] * dRow, sliceStep[a], firstPosition[a]]);
  return [lps[0].map((v) => -v), lps[1].map((v) => -v), lps[2], [0, 0, 0, 1]];
}
