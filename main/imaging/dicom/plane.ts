import type { Affine } from '../volume.js';

/** One image plane in patient space, as DICOM gives it: LPS millimetres. */
export interface Plane {
  /** ImagePositionPatient: centre of the first (top-left) pixel. */
  position: readonly number[];
  /** ImageOrientationPatient: row cosines, then column cosines. */
  orientation: readonly number[];
  /** PixelSpacing: [between rows, between columns]. */
  spacing: readonly number[];
}

/** Where one plane's pixels fall in a voxel grid: voxel index = origin + column·du + row·dv. */
export interface PlaneOnGrid {
  origin: [number, number, number];
  du: [number, number, number];
  dv: [number, number, number];
  /** The grid axis the plane is a slice of (neither in-plane step moves along it). */
  axis: number;
}

/** Voxels: float32 storage of a NIfTI affine and DS rounding stay far below this. */
export const PLANE_TOLERANCE = 0.02;

/**
 * Places a rows×cols plane on a grid through world coordinates, never by order: slice order, axis
 * flips of converters and oblique stacks all vary, while the position of a pixel in space does not.
 * Returns the placement, or in words why the plane's pixels are not voxels of the grid.
 */
export function planeOnGrid(plane: Plane, rows: number, cols: number, grid: { dims: readonly number[]; affine: Affine }): PlaneOnGrid | string {
  const inv = invertAffine(grid.affine);
  if (!inv) return 'the grid affine is singular';
  const toVoxel = (lps: number[]) => {
    const ras = [-lps[0], -lps[1], lps[2]];
    return [0, 1, 2].map((r) => inv[r][0] * ras[0] + inv[r][1] * ras[1] + inv[r][2] * ras[2] + inv[r][3]) as [number, number, number];
  };
  const p = plane.position.map(Number);
  const o = plane.orientation.map(Number);
  const [dRow, dCol] = plane.spacing.map(Number);
  const v0 = toVoxel(p);
  const vu = toVoxel([0, 1, 2].map((a) => p[a] + o[a] * dCol));
  const vv = toVoxel([0, 1, 2].map((a) => p[a] + o[3 + a] * dRow));
  const du = vu.map((x, a) => x - v0[a]);
  const dv = vv.map((x, a) => x - v0[a]);
  const isUnitAxis = (d: number[]) =>
    d.filter((x) => Math.abs(Math.abs(x) - 1) < PLANE_TOLERANCE).length === 1 && d.filter((x) => Math.abs(x) < PLANE_TOLERANCE).length === 2;
  const at = `its first pixel falls at voxel (${v0.map((x) => x.toFixed(2)).join(', ')})`;
  if (v0.some((x) => Math.abs(x - Math.round(x)) > PLANE_TOLERANCE) || !isUnitAxis(du) || !isUnitAxis(dv)) {
    return `${at} with steps (${du.map((x) => x.toFixed(2)).join(', ')}) and (${dv.map((x) => x.toFixed(2)).join(', ')}), not on the voxels of the ${grid.dims.slice(0, 3).join('×')} grid`;
  }
  const placed = {
    origin: v0.map(Math.round) as [number, number, number],
    du: du.map(Math.round) as [number, number, number],
    dv: dv.map(Math.round) as [number, number, number],
  };
  const axis = [0, 1, 2].find((a) => placed.du[a] === 0 && placed.dv[a] === 0)!;
  const last = voxelOnPlane({ ...placed, axis }, cols - 1, rows - 1);
  const inside = [placed.origin, last].every((v) => v.every((x, a) => x >= 0 && x < (grid.dims[a] ?? 1)));
  if (!inside) return `${at} and its last at (${last.join(', ')}), outside the ${grid.dims.slice(0, 3).join('×')} grid`;
  return { ...placed, axis };
}

export function voxelOnPlane(m: PlaneOnGrid, col: number, row: number): [number, number, number] {
  return [0, 1, 2].map((a) => m.origin[a] + col * m.du[a] + row * m.dv[a]) as [number, number, number];
}

/** Linear voxel index of the plane's first pixel, and the index steps along a row and down a column. */
export function planeStrides(m: PlaneOnGrid, dims: readonly number[]): { base: number; sx: number; sy: number } {
  const [nx, ny] = dims;
  const lin = (v: readonly number[]) => v[0] + v[1] * nx + v[2] * nx * ny;
  return { base: lin(m.origin), sx: lin(m.du), sy: lin(m.dv) };
}

/** Inverse of an affine (3×3 part, then the translation); null when singular. */
export function invertAffine(m: Affine): number[][] | null {
  const [a, b, c] = m;
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  if (Math.abs(det) < 1e-12) return null;
  const r = [
    [(b[1] * c[2] - b[2] * c[1]) / det, (a[2] * c[1] - a[1] * c[2]) / det, (a[1] * b[2] - a[2] * b[1]) / det],
    [(b[2] * c[0] - b[0] * c[2]) / det, (a[0] * c[2] - a[2] * c[0]) / det, (a[2] * b[0] - a[0] * b[2]) / det],
    [(b[0] * c[1] - b[1] * c[0]) / det, (a[1] * c[0] - a[0] * c[1]) / det, (a[0] * b[1] - a[1] * b[0]) / det],
  ];
  const t = [a[3], b[3], c[3]];
  return r.map((row) => [...row, -(row[0] * t[0] + row[1] * t[1] + row[2] * t[2])]).concat([[0, 0, 0, 1]]);
}
