/** Boxes of voxel indices (as stored, x fastest), the one home for finding and combining them. */
export interface VoxelBox {
  lo: [number, number, number];
  /** Inclusive. */
  hi: [number, number, number];
}

/** The box of the voxels where `keep(value)` holds (default: non-zero); null when there are none. */
export function boxWhere(data: ArrayLike<number>, dims: readonly number[], keep: (v: number) => boolean = (v) => v !== 0): VoxelBox | null {
  return scanWhere(data, dims, keep).box;
}

/** Box and count of the voxels where `keep(value)` holds, in one pass; `visit` sees each such voxel's index. */
export function scanWhere(
  data: ArrayLike<number>,
  dims: readonly number[],
  keep: (v: number) => boolean,
  visit?: (index: number) => void,
): { box: VoxelBox | null; count: number } {
  const [nx, ny, nz] = dims;
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  let count = 0;
  let o = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, o++) {
        if (!keep(data[o])) continue;
        count++;
        visit?.(o);
        if (x < lo[0]) lo[0] = x;
        if (x > hi[0]) hi[0] = x;
        if (y < lo[1]) lo[1] = y;
        if (y > hi[1]) hi[1] = y;
        if (z < lo[2]) lo[2] = z;
        if (z > hi[2]) hi[2] = z;
      }
    }
  }
  return { box: hi[0] < 0 ? null : { lo: lo as [number, number, number], hi: hi as [number, number, number] }, count };
}

/** The smallest box holding all the given ones (nulls skipped); null when none is given. */
export function unionBox(boxes: readonly (VoxelBox | null)[]): VoxelBox | null {
  let out: VoxelBox | null = null;
  for (const b of boxes) {
    if (!b) continue;
    if (!out) out = { lo: [...b.lo], hi: [...b.hi] };
    else
      for (let k = 0; k < 3; k++) {
        out.lo[k] = Math.min(out.lo[k], b.lo[k]);
        out.hi[k] = Math.max(out.hi[k], b.hi[k]);
      }
  }
  return out;
}
