import type { Affine, Volume, VoxelArray } from './volume.js';

/**
 * Reorders and flips voxel axes so that axis 0 points to +x (Right), 1 to +y (Anterior), 2 to +z
 * (Superior) as closely as the grid allows; the affine changes so world positions stay exact.
 * Two volumes of the same scan compare voxel by voxel after this, whatever order their readers chose.
 */
export function reorientToRas(v: Volume): Volume {
  const a = v.affine;
  const perm = [0, 1, 2];
  const used = new Set<number>();
  // Greedy by largest component: for each world axis pick the voxel axis that points most along it.
  const order = [0, 1, 2]
    .flatMap((w) => [0, 1, 2].map((c) => ({ w, c, m: Math.abs(a[w][c]) / Math.hypot(a[0][c], a[1][c], a[2][c]) })))
    .sort((p, q) => q.m - p.m);
  const worldTaken = new Set<number>();
  for (const { w, c } of order) {
    if (worldTaken.has(w) || used.has(c)) continue;
    perm[w] = c;
    worldTaken.add(w);
    used.add(c);
  }
  const flip = [0, 1, 2].map((w) => a[w][perm[w]] < 0);
  const nx = v.dims[perm[0]], ny = v.dims[perm[1]], nz = v.dims[perm[2]];
  const nt = v.dims[3] ?? 1;
  const src = v.dims;
  const strides = [1, src[0], src[0] * src[1]];
  const frame = src[0] * src[1] * src[2];
  const out = new (v.data.constructor as new (n: number) => VoxelArray)(v.data.length);
  let o = 0;
  for (let t = 0; t < nt; t++) {
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          const idx = [x, y, z].map((q, w) => (flip[w] ? [nx, ny, nz][w] - 1 - q : q));
          const s = idx[0] * strides[perm[0]] + idx[1] * strides[perm[1]] + idx[2] * strides[perm[2]] + t * frame;
          out[o++] = v.data[s];
        }
      }
    }
  }
  const affine: Affine = [0, 1, 2].map((r) => {
    const row = [0, 0, 0, a[r][3]];
    for (let w = 0; w < 3; w++) {
      const col = perm[w];
      const n = [nx, ny, nz][w];
      row[w] = flip[w] ? -a[r][col] : a[r][col];
      if (flip[w]) row[3] += a[r][col] * (n - 1);
    }
    return row;
  });
  affine.push([0, 0, 0, 1]);
  const dims = [nx, ny, nz, ...(v.dims.length > 3 ? [nt] : [])];
  const spacing = [v.spacing[perm[0]], v.spacing[perm[1]], v.spacing[perm[2]], ...v.spacing.slice(3)];
  return { ...v, dims, spacing, affine, data: out };
}

/** Axis codes in the nibabel/FSL sense: the direction each voxel axis points to, e.g. "RAS" or "LPI". */
export function orientationCode(a: Affine): string {
  const letters = [['R', 'L'], ['A', 'P'], ['S', 'I']];
  return [0, 1, 2]
    .map((c) => {
      const col = [a[0][c], a[1][c], a[2][c]];
      const w = col.map(Math.abs).indexOf(Math.max(...col.map(Math.abs)));
      return letters[w][col[w] >= 0 ? 0 : 1];
    })
    .join('');
}
