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
  const countRow = rowCounter(values, nx, isForeground);
  for (let z = 0, o = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++, o += nx) {
      // Counted per row: y and z take one addition per row instead of one per voxel.
      const row = countRow(o, cx);
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

/** Adds the foreground voxels of the row starting at voxel `o` to `cx` (by x) and returns how many there were. */
type RowCounter = (o: number, cx: Uint32Array) => number;

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * The fastest way to count a row that `values` allows: 8- and 16-bit voxels through a table of the test's answers,
 * skipping zero words where zero is background (zero-words.ts); unsigned bytes taken from their word without a
 * branch (each voxel a table lookup added to its count); any other voxel through the test itself.
 */
function rowCounter(values: ArrayLike<number>, nx: number, isForeground: (v: number) => boolean): RowCounter {
  const table = answerTable(values, isForeground);
  if (!table) {
    return (o, cx) => {
      let row = 0;
      for (let x = 0; x < nx; x++) {
        if (isForeground(values[o + x])) {
          cx[x]++;
          row++;
        }
      }
      return row;
    };
  }
  const { answers, offset } = table;
  const byTable: RowCounter = (o, cx) => {
    let row = 0;
    for (let x = 0; x < nx; x++) {
      if (answers[values[o + x] + offset] === 1) {
        cx[x]++;
        row++;
      }
    }
    return row;
  };
  const zw = answers[offset] === 0 ? zeroWords(values) : null;
  if (!zw) return byTable;
  const { words, shift, per } = zw;
  const whole = nx >> shift;
  // A row that starts on a word boundary is read word by word, then the voxels after its last whole word.
  const tail = (o: number, cx: Uint32Array) => {
    let row = 0;
    for (let x = whole * per; x < nx; x++) {
      if (answers[values[o + x] + offset] === 1) {
        cx[x]++;
        row++;
      }
    }
    return row;
  };
  if ((values instanceof Uint8Array || values instanceof Uint8ClampedArray) && LITTLE_ENDIAN) {
    // A byte's value is its voxel's (offset 0), the lowest byte the first voxel.
    return (o, cx) => {
      if ((o & 3) !== 0) return byTable(o, cx);
      let row = 0;
      for (let k = 0, w = o >> 2, x = 0; k < whole; k++, w++, x += 4) {
        const word = words[w];
        if (word === 0) continue;
        const a0 = answers[word & 255];
        const a1 = answers[(word >>> 8) & 255];
        const a2 = answers[(word >>> 16) & 255];
        const a3 = answers[word >>> 24];
        cx[x] += a0;
        cx[x + 1] += a1;
        cx[x + 2] += a2;
        cx[x + 3] += a3;
        row += a0 + a1 + a2 + a3;
      }
      return row + tail(o, cx);
    };
  }
  return (o, cx) => {
    if ((o & (per - 1)) !== 0) return byTable(o, cx);
    let row = 0;
    for (let k = 0, w = o >> shift; k < whole; k++, w++) {
      if (words[w] === 0) continue;
      for (let x = k * per, i = o + x; x < k * per + per; x++, i++) {
        if (answers[values[i] + offset] === 1) {
          cx[x]++;
          row++;
        }
      }
    }
    return row + tail(o, cx);
  };
}
