import type { Volume } from '../../main/imaging/volume.js';

export function maxAffineDiff(a: Volume, b: Volume): number {
  return Math.max(...a.affine.flatMap((row, i) => row.map((x, j) => Math.abs(x - b.affine[i][j]))));
}

/** Number of voxels whose stored values differ. */
export function countDifferent(a: Volume, b: Volume): number {
  let n = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) n++;
  return n;
}

export function maxRealDiff(a: Volume, b: Volume): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) {
    m = Math.max(m, Math.abs(a.data[i] * a.slope + a.intercept - (b.data[i] * b.slope + b.intercept)));
  }
  return m;
}
