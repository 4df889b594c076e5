import type { VoxelBox } from './foreground-box.js';
import type { GridFit } from './grid-fit.js';

/**
 * Overlapping model-grid tiles over a box of a volume, for generation near the native resolution: instead of one
 * grid stretched over the whole head (3–4 mm voxels for a 64³ model), the box is covered by grid-sized windows of
 * a fine lattice (model voxels of `voxelMm`), each one model call, blended where they overlap.
 *
 * Lattice index g along axis a lies at native continuous index p = scale_a · g + origin_a; a tile starting at
 * lattice index s is the GridFit with that scale and offset origin_a + scale_a · s.
 */
export interface TileLayout {
  grid: [number, number, number];
  nativeDims: [number, number, number];
  modelVoxelMm: number;
  scale: [number, number, number];
  /** Native position of lattice index 0, per axis. */
  origin: [number, number, number];
  /** Lattice size per axis (covers the box). */
  lattice: [number, number, number];
  /** Tile starts per axis, in lattice indices, ascending; tiles are all combinations. */
  starts: [number[], number[], number[]];
  /** Width of the blending ramp at a tile's side that has a neighbour, in lattice voxels. */
  ramp: number;
}

export interface Tile {
  /** Index into the layout's tiles (x fastest over the starts). */
  index: number;
  start: [number, number, number];
  /** Whether the tile has a neighbour before / after it, per axis (only those sides are ramped). */
  before: [boolean, boolean, boolean];
  after: [boolean, boolean, boolean];
  fit: GridFit;
}

/**
 * At most this many tiles by default: a run costs one model call per tile, so a model with a small grid (the
 * 32³ test fixture: 576 tiles of 1 mm over a head) gets somewhat coarser voxels instead of an unbounded run.
 * The bundled 64³ model needs 80–100 tiles of 1 mm for a 256³ head with skull, an official 128³ one about 20.
 */
export const MAX_TILES = 128;

/**
 * Tiles of `grid` over `box` (voxel indices of a volume of `dims` and `spacing`, in the order the model sees
 * them), overlapping by at least `overlap` model voxels, model voxels of `voxelMm` mm (default: the finest native
 * spacing, so no detail is averaged away along any axis, coarsened only as far as `maxTiles` requires).
 */
export function tileLayout(
  dims: readonly number[],
  spacing: readonly number[],
  grid: readonly [number, number, number],
  box: VoxelBox,
  opts: { overlap?: number; voxelMm?: number; maxTiles?: number } = {},
): TileLayout {
  const s = [0, 1, 2].map((a) => Math.abs(spacing[a] ?? 1) || 1);
  let layout = layoutAt(dims, s, grid, box, opts.voxelMm ?? Math.min(...s), opts.overlap);
  if (opts.voxelMm !== undefined) return layout;
  const most = Math.max(1, opts.maxTiles ?? MAX_TILES);
  while (tileCount(layout) > most) layout = layoutAt(dims, s, grid, box, layout.modelVoxelMm * 1.05, opts.overlap);
  return layout;
}

function layoutAt(
  dims: readonly number[],
  s: readonly number[],
  grid: readonly [number, number, number],
  box: VoxelBox,
  v: number,
  overlapAsked: number | undefined,
): TileLayout {
  if (!(v > 0)) throw new Error(`tile voxel size must be positive (got ${v})`);
  const minEdge = Math.min(...grid);
  const overlap = Math.max(0, Math.min(overlapAsked ?? Math.round(minEdge / 4), Math.floor(minEdge / 2)));
  const scale = [0, 1, 2].map((a) => v / s[a]) as [number, number, number];
  const lattice = [0, 0, 0] as [number, number, number];
  const origin = [0, 0, 0] as [number, number, number];
  const starts: [number[], number[], number[]] = [[], [], []];
  for (let a = 0; a < 3; a++) {
    const extentMm = (box.hi[a] - box.lo[a] + 1) * s[a];
    lattice[a] = Math.max(1, Math.ceil(extentMm / v));
    // Centres coincide, as in fitToGrid: the lattice's middle is the box's middle.
    origin[a] = (box.lo[a] + box.hi[a]) / 2 - scale[a] * ((lattice[a] - 1) / 2);
    starts[a] = axisStarts(lattice[a], grid[a], overlap);
  }
  return {
    grid: [grid[0], grid[1], grid[2]],
    nativeDims: [dims[0], dims[1], dims[2]],
    modelVoxelMm: v,
    scale,
    origin,
    lattice,
    starts,
    ramp: overlap,
  };
}

/**
 * Starts of windows of `size` over `n` lattice voxels, at most `size − overlap` apart, the first at 0 and the last
 * ending at n (evenly spread between, so every overlap is at least `overlap`). A lattice smaller than one window
 * gets one window centred on it (the grid then pads outside the box, as fitToGrid does).
 */
export function axisStarts(n: number, size: number, overlap: number): number[] {
  if (n <= size) return [Math.floor((n - size) / 2)];
  const stride = Math.max(1, size - overlap);
  const count = Math.ceil((n - size) / stride) + 1;
  const out: number[] = [];
  for (let k = 0; k < count; k++) out.push(Math.round((k * (n - size)) / (count - 1)));
  return out;
}

export function tileCount(l: TileLayout): number {
  return l.starts[0].length * l.starts[1].length * l.starts[2].length;
}

/** Every tile of a layout, x fastest. */
export function* tilesOf(l: TileLayout): Generator<Tile> {
  const [sx, sy, sz] = l.starts;
  let index = 0;
  for (let k = 0; k < sz.length; k++)
    for (let j = 0; j < sy.length; j++)
      for (let i = 0; i < sx.length; i++, index++) {
        const at = [i, j, k];
        const start = [sx[i], sy[j], sz[k]] as [number, number, number];
        const before = [0, 1, 2].map((a) => at[a] > 0) as [boolean, boolean, boolean];
        const after = [0, 1, 2].map((a) => at[a] < l.starts[a].length - 1) as [boolean, boolean, boolean];
        const offset = [0, 1, 2].map((a) => l.origin[a] + l.scale[a] * start[a]) as [number, number, number];
        yield { index, start, before, after, fit: { grid: l.grid, nativeDims: l.nativeDims, modelVoxelMm: l.modelVoxelMm, scale: l.scale, offset } };
      }
}

/**
 * Blending weight of a tile at tile-local continuous position t (−0.5 … size − 0.5) along one axis: 1 inside,
 * a raised-cosine ramp from 0 to 1 over `ramp` voxels at a side with a neighbour. Two tiles overlapping by exactly
 * `ramp` then weigh sin² + cos² = 1 everywhere; wider overlaps (the last tile of an axis) are made to sum to one
 * by dividing by the summed weights.
 */
export function rampWeight(t: number, size: number, ramp: number, before: boolean, after: boolean): number {
  let w = 1;
  if (ramp <= 0) return w;
  if (before && t + 0.5 < ramp) w *= Math.sin((Math.PI / 2) * Math.max(0, (t + 0.5) / ramp)) ** 2;
  if (after && size - 0.5 - t < ramp) w *= Math.sin((Math.PI / 2) * Math.max(0, (size - 0.5 - t) / ramp)) ** 2;
  return w;
}

/**
 * Native voxels of one tile along one axis: the native indices whose lattice position falls inside the tile
 * (half a voxel of tolerance), each with its two model-grid taps, the weight of the second, and its blending
 * weight. Used to fold a tile's output back onto the native grid (`accumulateTile`).
 */
export interface TileAxis {
  first: number;
  i0: Int32Array;
  i1: Int32Array;
  f: Float64Array;
  w: Float64Array;
}

export function tileAxis(l: TileLayout, tile: Tile, a: number): TileAxis {
  const n = l.grid[a];
  const inv = 1 / l.scale[a];
  const off = -tile.fit.offset[a] / l.scale[a];
  const inside: number[] = [];
  for (let p = 0; p < l.nativeDims[a]; p++) {
    const q = inv * p + off;
    if (q >= -0.5 && q <= n - 0.5) inside.push(p);
  }
  const out: TileAxis = {
    first: inside[0] ?? 0,
    i0: new Int32Array(inside.length),
    i1: new Int32Array(inside.length),
    f: new Float64Array(inside.length),
    w: new Float64Array(inside.length),
  };
  inside.forEach((p, k) => {
    const q = inv * p + off;
    const c = Math.min(n - 1, Math.max(0, q));
    out.i0[k] = Math.floor(c);
    out.i1[k] = Math.min(out.i0[k] + 1, n - 1);
    out.f[k] = c - out.i0[k];
    out.w[k] = rampWeight(q, n, l.ramp, tile.before[a], tile.after[a]);
  });
  return out;
}

/**
 * Adds one tile's model output (trilinear back onto the native voxels it covers) times its blending weight into
 * `sum`, and the weight into `weight`; both are arrays over `region` (a box of the native grid in the model's
 * voxel order, x fastest). Native voxels of the tile outside the region are skipped.
 */
export function accumulateTile(l: TileLayout, tile: Tile, model: Float32Array, region: VoxelBox, sum: Float32Array, weight: Float32Array): void {
  const [tx, ty, tz] = [0, 1, 2].map((a) => tileAxis(l, tile, a));
  const [gx, gy] = l.grid;
  const gxy = gx * gy;
  const rx = region.hi[0] - region.lo[0] + 1;
  const ry = region.hi[1] - region.lo[1] + 1;
  const at = (i: number, j: number, k: number) => model[i + gx * j + gxy * k];
  for (let c = 0; c < tz.i0.length; c++) {
    const z = tz.first + c - region.lo[2];
    if (z < 0 || z > region.hi[2] - region.lo[2]) continue;
    const [z0, z1, fz, wz] = [tz.i0[c], tz.i1[c], tz.f[c], tz.w[c]];
    for (let b = 0; b < ty.i0.length; b++) {
      const y = ty.first + b - region.lo[1];
      if (y < 0 || y >= ry) continue;
      const [y0, y1, fy, wyz] = [ty.i0[b], ty.i1[b], ty.f[b], ty.w[b] * wz];
      const row = rx * (y + ry * z);
      for (let a = 0; a < tx.i0.length; a++) {
        const x = tx.first + a - region.lo[0];
        if (x < 0 || x >= rx) continue;
        const [x0, x1, fx] = [tx.i0[a], tx.i1[a], tx.f[a]];
        const w = tx.w[a] * wyz;
        if (w === 0) continue;
        const c00 = at(x0, y0, z0) * (1 - fx) + at(x1, y0, z0) * fx;
        const c10 = at(x0, y1, z0) * (1 - fx) + at(x1, y1, z0) * fx;
        const c01 = at(x0, y0, z1) * (1 - fx) + at(x1, y0, z1) * fx;
        const c11 = at(x0, y1, z1) * (1 - fx) + at(x1, y1, z1) * fx;
        const v = (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
        sum[row + x] += w * v;
        weight[row + x] += w;
      }
    }
  }
}
