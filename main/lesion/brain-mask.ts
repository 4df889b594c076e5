import { connectedComponents, largestComponent } from '../imaging/components.js';

/**
 * The brain of a skull-stripped image: every voxel whose value differs from the background (the value most
 * common on the grid's outer faces, 0 in every real case here, whether the image is z-scored float or int16), the
 * largest 6-connected part of that, holes filled (what the outside cannot reach through background voxels).
 *
 * Assumes a skull-stripped image, as lesion data sets ship them; on a whole head it returns the head, and the
 * features (distance to the edge, intensities normalised inside the mask) then describe the head instead.
 */
export function brainMask(image: ArrayLike<number>, dims: readonly [number, number, number]): Uint8Array {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  const bg = borderMode(image, dims);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = image[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // Float backgrounds written after resampling may carry round-off: a millionth of the range is still background.
  const tol = (max - min) * 1e-6;
  const fore = new Uint8Array(n);
  for (let i = 0; i < n; i++) fore[i] = Math.abs(image[i] - bg) > tol && image[i] === image[i] ? 1 : 0;
  // Labelling and hole filling run on the foreground's box plus one voxel (the background around a brain is most of
  // a 240×240×155 grid; flooding it took about a second).
  let lo = [nx, ny, nz];
  let hi = [-1, -1, -1];
  for (let k = 0, v = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, v++)
        if (fore[v]) {
          const p = [i, j, k];
          for (let a = 0; a < 3; a++) {
            if (p[a] < lo[a]) lo[a] = p[a];
            if (p[a] > hi[a]) hi[a] = p[a];
          }
        }
  const mask = new Uint8Array(n);
  if (hi[0] < 0) return mask;
  lo = lo.map((x) => Math.max(0, x - 1));
  hi = hi.map((x, a) => Math.min(dims[a] - 1, x + 1));
  const box: [number, number, number] = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
  const inBox = new Uint8Array(box[0] * box[1] * box[2]);
  for (let k = 0, w = 0; k < box[2]; k++)
    for (let j = 0; j < box[1]; j++) {
      const base = lo[0] + (lo[1] + j) * nx + (lo[2] + k) * nx * ny;
      for (let i = 0; i < box[0]; i++, w++) inBox[w] = fore[base + i];
    }
  const c = connectedComponents(inBox, box, 6);
  const keep = largestComponent(c);
  for (let w = 0; w < inBox.length; w++) inBox[w] = c.labels[w] === keep ? 1 : 0;
  fillHoles(inBox, box);
  for (let k = 0, w = 0; k < box[2]; k++)
    for (let j = 0; j < box[1]; j++) {
      const base = lo[0] + (lo[1] + j) * nx + (lo[2] + k) * nx * ny;
      for (let i = 0; i < box[0]; i++, w++) mask[base + i] = inBox[w];
    }
  return mask;
}

/** The value most voxels on the six outer faces have. */
function borderMode(image: ArrayLike<number>, [nx, ny, nz]: readonly [number, number, number]): number {
  const counts = new Map<number, number>();
  const add = (v: number) => counts.set(v, (counts.get(v) ?? 0) + 1);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        if (i !== 0 && i !== nx - 1 && j !== 0 && j !== ny - 1 && k !== 0 && k !== nz - 1) {
          i = nx - 2; // jump to the last column of this row
          continue;
        }
        add(image[i + j * nx + k * nx * ny]);
      }
  let best = 0;
  let bestCount = -1;
  for (const [v, c] of counts) if (c > bestCount) [best, bestCount] = [v, c];
  return best;
}

/** Sets every non-mask voxel the grid's faces cannot reach through non-mask voxels (6-connected). */
export function fillHoles(mask: Uint8Array, [nx, ny, nz]: readonly [number, number, number]): void {
  const n = nx * ny * nz;
  const outside = new Uint8Array(n);
  const queue = new Int32Array(n);
  let tail = 0;
  const seed = (v: number) => {
    if (mask[v] === 0 && outside[v] === 0) {
      outside[v] = 1;
      queue[tail++] = v;
    }
  };
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) if (i === 0 || i === nx - 1 || j === 0 || j === ny - 1 || k === 0 || k === nz - 1) seed(i + j * nx + k * nx * ny);
  const nxy = nx * ny;
  for (let head = 0; head < tail; head++) {
    const v = queue[head];
    const k = Math.floor(v / nxy);
    const j = Math.floor((v - k * nxy) / nx);
    const i = v - k * nxy - j * nx;
    if (i > 0) seed(v - 1);
    if (i < nx - 1) seed(v + 1);
    if (j > 0) seed(v - nx);
    if (j < ny - 1) seed(v + nx);
    if (k > 0) seed(v - nxy);
    if (k < nz - 1) seed(v + nxy);
  }
  for (let i = 0; i < n; i++) if (outside[i] === 0) mask[i] = 1;
}
