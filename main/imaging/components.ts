/**
 * Connected components of a binary 3-D mask (x fastest, NIfTI order). Lesion counts and volumes, brain masks and
 * lesion cleanup all use this one labelling, so "a lesion" means the same thing in the mask, the summary and the CSV.
 */

/** 6: faces only; 26: faces, edges and corners (the usual convention for lesion counts). */
export type Connectivity = 6 | 26;

export interface Components {
  /** Component index per voxel, 1..count in order of first voxel; 0 outside the mask. */
  labels: Int32Array;
  /** Voxels of each component; sizes[0] is unused (0). */
  sizes: number[];
  count: number;
}

/** Neighbour offsets (di, dj, dk) of one connectivity that come earlier in scan order are not needed: a BFS visits all. */
function offsets(connectivity: Connectivity): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let dk = -1; dk <= 1; dk++)
    for (let dj = -1; dj <= 1; dj++)
      for (let di = -1; di <= 1; di++) {
        const n = Math.abs(di) + Math.abs(dj) + Math.abs(dk);
        if (n === 0) continue;
        if (connectivity === 6 && n > 1) continue;
        out.push([di, dj, dk]);
      }
  return out;
}

/** Labels the non-zero voxels of `mask` (length nx·ny·nz) by breadth-first flood fill, one queue reused. */
export function connectedComponents(mask: ArrayLike<number>, dims: readonly number[], connectivity: Connectivity = 26): Components {
  const [nx, ny, nz] = [dims[0], dims[1] ?? 1, dims[2] ?? 1];
  const n = nx * ny * nz;
  if (mask.length < n) throw new Error(`mask has ${mask.length} voxels, its grid ${nx}×${ny}×${nz} needs ${n}`);
  const labels = new Int32Array(n);
  const sizes = [0];
  const queue = new Int32Array(n);
  const offs = offsets(connectivity);
  const nxy = nx * ny;
  let count = 0;
  for (let start = 0; start < n; start++) {
    if (mask[start] === 0 || labels[start] !== 0) continue;
    count++;
    labels[start] = count;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    while (head < tail) {
      const v = queue[head++];
      const k = Math.floor(v / nxy);
      const r = v - k * nxy;
      const j = Math.floor(r / nx);
      const i = r - j * nx;
      for (const [di, dj, dk] of offs) {
        const a = i + di;
        const b = j + dj;
        const c = k + dk;
        if (a < 0 || a >= nx || b < 0 || b >= ny || c < 0 || c >= nz) continue;
        const w = a + b * nx + c * nxy;
        if (mask[w] !== 0 && labels[w] === 0) {
          labels[w] = count;
          queue[tail++] = w;
        }
      }
    }
    sizes.push(tail);
  }
  return { labels, sizes, count };
}

/** 1 on the components whose index `keep` accepts, 0 elsewhere. */
export function keepComponents(c: Components, keep: (index: number, size: number) => boolean): Uint8Array {
  const table = new Uint8Array(c.count + 1);
  for (let k = 1; k <= c.count; k++) table[k] = keep(k, c.sizes[k]) ? 1 : 0;
  const out = new Uint8Array(c.labels.length);
  for (let i = 0; i < out.length; i++) out[i] = table[c.labels[i]];
  return out;
}

/** Index of the largest component (the first of equals), 0 when there is none. */
export function largestComponent(c: Components): number {
  let best = 0;
  for (let k = 1; k <= c.count; k++) if (c.sizes[k] > c.sizes[best]) best = k;
  return best;
}
