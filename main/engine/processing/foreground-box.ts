/**
 * The head's (or, for skull-stripped images, the brain's) bounding box, found by thresholding the normalised
 * image. Our models are trained on brains framed by their bounding box (native-models/neuroverse3d/data.py
 * fit_to_grid), not on whole fields of view, so a scan with much neck or air around the head would otherwise
 * show the model a brain far smaller than any it has seen.
 */
import type { VoxelBox } from '../../imaging/voxel-box.js';
import { answerTable } from './answer-table.js';
import { zeroWords } from './zero-words.js';

export type { VoxelBox };

/**
 * Voxels at or above `threshold` (on [0, 1] intensities); along each axis only slices holding at least
 * `minFraction` of the fullest slice's count count, so a few bright noise voxels or a stray marker in a
 * corner do not stretch the box. Null when nothing is above the threshold.
 */
export function foregroundBox(values: ArrayLike<number>, dims: readonly number[], threshold: number, minFraction = 0.002): VoxelBox | null {
  return foregroundBoxWhere(values, dims, (v) => v >= threshold, minFraction);
}

/**
 * `foregroundBox` of the voxels `isForeground` accepts, asked of the values as stored. One pass, no mask: 8- and
 * 16-bit voxels (most scans) are looked up in a table of its answers for every possible value, so the test runs
 * 256 or 65536 times instead of once per voxel (a 256³ head: ~40 ms instead of ~250), and runs of zero voxels are
 * skipped a word at a time (zero-words.ts).
 */
export function foregroundBoxWhere(
  values: ArrayLike<number>,
  dims: readonly number[],
  isForeground: (v: number) => boolean,
  minFraction = 0.002,
): VoxelBox | null {
  const [nx, ny, nz] = dims;
  // Integer counts (a volume has fewer than 2^32 voxels): they increment faster than doubles.
  const cx = new Uint32Array(nx);
  const cy = new Uint32Array(ny);
  const cz = new Uint32Array(nz);
  const table = answerTable(values, isForeground);
  // Zero words skipped whole where zero is background (the air around most heads).
  const zw = table && table.answers[table.offset] === 0 ? zeroWords(values) : null;
  let o = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      // Counted per row: y and z take one addition per row instead of one per voxel.
      let row = 0;
      if (zw && (o & (zw.per - 1)) === 0) {
        // A row that starts on a word boundary: its whole words, then the voxels after the last.
        const { answers, offset } = table!;
        const { words, shift, per } = zw;
        const whole = nx >> shift;
        for (let k = 0, w = o >> shift; k < whole; k++, w++) {
          if (words[w] === 0) continue;
          for (let x = k * per, i = o + x; x < k * per + per; x++, i++) {
            if (answers[values[i] + offset] === 1) {
              cx[x]++;
              row++;
            }
          }
        }
        for (let x = whole * per; x < nx; x++) {
          if (answers[values[o + x] + offset] === 1) {
            cx[x]++;
            row++;
          }
        }
        o += nx;
      } else if (table) {
        const { answers, offset } = table;
        for (let x = 0; x < nx; x++, o++) {
          if (answers[values[o] + offset] === 1) {
            cx[x]++;
            row++;
          }
        }
      } else {
        for (let x = 0; x < nx; x++, o++) {
          if (isForeground(values[o])) {
            cx[x]++;
            row++;
          }
        }
      }
      cy[y] += row;
      cz[z] += row;
    }
  }
  const range = (c: Uint32Array): [number, number] | null => {
    let max = 0;
    for (const v of c) max = Math.max(max, v);
    if (max === 0) return null;
    const min = Math.max(1, minFraction * max);
    let lo = 0;
    while (c[lo] < min) lo++;
    let hi = c.length - 1;
    while (c[hi] < min) hi--;
    return [lo, hi];
  };
  const rx = range(cx);
  const ry = range(cy);
  const rz = range(cz);
  if (!rx || !ry || !rz) return null;
  return { lo: [rx[0], ry[0], rz[0]], hi: [rx[1], ry[1], rz[1]] };
}
