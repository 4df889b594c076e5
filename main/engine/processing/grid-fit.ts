import { valueTable } from './answer-table.js';
import type { VoxelBox } from './foreground-box.js';

/**
 * Placement of a native volume in the model grid: isotropic model voxels, the whole native field of view (or a
 * box in it, plus a margin) scaled to fit the grid's most constraining axis (aspect ratio kept, the rest padded),
 * centred.
 * Native continuous index p_i = scale_i · q_i + offset_i for model index q_i; axes are not permuted or
 * flipped (the checkpoint was trained on arrays as stored, architecture doc §7).
 */
export interface GridFit {
  grid: [number, number, number];
  nativeDims: [number, number, number];
  /** Model voxel edge in mm. */
  modelVoxelMm: number;
  scale: [number, number, number];
  offset: [number, number, number];
}

export function fitToGrid(
  nativeDims: readonly number[],
  spacing: readonly number[],
  grid: readonly [number, number, number],
  box?: VoxelBox,
  marginMm = 0,
): GridFit {
  const n = [nativeDims[0], nativeDims[1], nativeDims[2]] as [number, number, number];
  const s = [0, 1, 2].map((i) => Math.abs(spacing[i] ?? 1) || 1);
  const lo = box ? box.lo : [0, 0, 0];
  const hi = box ? box.hi : n.map((d) => d - 1);
  const extent = [0, 1, 2].map((i) => (hi[i] - lo[i] + 1) * s[i] + 2 * marginMm);
  const v = Math.max(...[0, 1, 2].map((i) => extent[i] / grid[i]));
  const scale = [0, 1, 2].map((i) => v / s[i]) as [number, number, number];
  // Centres coincide: (lo+hi)/2 = scale·(G-1)/2 + offset (the whole field of view: lo = 0, hi = n-1).
  const offset = [0, 1, 2].map((i) => (lo[i] + hi[i]) / 2 - scale[i] * ((grid[i] - 1) / 2)) as [number, number, number];
  return { grid: [...grid] as [number, number, number], nativeDims: n, modelVoxelMm: v, scale, offset };
}

/**
 * Where voxel (x, y, z) of the sampled index space lies in a flat source array: start + x·steps[0] +
 * y·steps[1] + z·steps[2]. An axis permutation and flips (reorient.ts) are such a layout, so a volume can
 * be sampled in the model's orientation without first copying all of it into that order.
 */
export interface SourceLayout {
  start: number;
  steps: [number, number, number];
}

export function denseLayout(dims: readonly number[]): SourceLayout {
  return { start: 0, steps: [1, dims[0], dims[0] * dims[1]] };
}

/**
 * Samples `src` (dims `srcDims`, x fastest) at continuous indices given per destination voxel by
 * p = scale·q + offset; outside the source the value is `fill`. Trilinear or nearest.
 */
export function resample(
  src: Float32Array,
  srcDims: readonly number[],
  dstDims: readonly number[],
  scale: readonly number[],
  offset: readonly number[],
  mode: 'linear' | 'nearest',
  fill = 0,
): Float32Array {
  return resampleFrom(src, srcDims, denseLayout(srcDims), dstDims, scale, offset, mode, fill);
}

/**
 * `resample` of any stored array through a layout, with `value` applied to each source voxel read before it
 * is interpolated (e.g. intensity normalisation or label membership), so only the voxels the grid needs
 * are ever converted. For 8- and 16-bit voxels `value` is tabulated once per possible value, and where each
 * axis's taps and weights fall is computed once per grid index (`sampleTaps`), not once per voxel: the same
 * arithmetic, so the same result to the bit.
 */
export function resampleFrom(
  src: ArrayLike<number>,
  srcDims: readonly number[],
  layout: SourceLayout,
  dstDims: readonly number[],
  scale: readonly number[],
  offset: readonly number[],
  mode: 'linear' | 'nearest',
  fill = 0,
  value: (stored: number) => number = (x) => x,
): Float32Array {
  const [dx, dy, dz] = dstDims;
  const out = new Float32Array(dx * dy * dz);
  const [tx, ty, tz] = [0, 1, 2].map((a) => sampleTaps(dstDims[a], srcDims[a], scale[a], offset[a], layout.steps[a], mode));
  const tabulated = valueTable(src, value);
  let o = 0;
  for (let k = 0; k < dz; k++) {
    for (let j = 0; j < dy; j++, o += dx) {
      if (!tz.inside[k] || !ty.inside[j]) {
        out.fill(fill, o, o + dx);
        continue;
      }
      // The four source rows (y0|y1, z0|z1) this output row reads from.
      const rows: Rows = {
        r00: layout.start + ty.a0[j] + tz.a0[k],
        r10: layout.start + ty.a1[j] + tz.a0[k],
        r01: layout.start + ty.a0[j] + tz.a1[k],
        r11: layout.start + ty.a1[j] + tz.a1[k],
        fy: ty.f[j],
        fz: tz.f[k],
      };
      if (tabulated) tabulatedRow(out, o, tx, rows, mode, fill, src, tabulated.table, tabulated.offset);
      else valuedRow(out, o, tx, rows, mode, fill, src, value);
    }
  }
  return out;
}

type Taps = ReturnType<typeof sampleTaps>;
interface Rows {
  r00: number;
  r10: number;
  r01: number;
  r11: number;
  fy: number;
  fz: number;
}

// The same loop twice, reading voxels through a table or through `value`: one loop with a choice per read kept
// V8 from inlining the read, and each read then allocated its number (~9 scavenges per 64³ resampling).

function tabulatedRow(
  out: Float32Array,
  o: number,
  tx: Taps,
  { r00, r10, r01, r11, fy, fz }: Rows,
  mode: 'linear' | 'nearest',
  fill: number,
  src: ArrayLike<number>,
  table: Float64Array,
  shift: number,
): void {
  for (let i = 0; i < tx.inside.length; i++, o++) {
    if (!tx.inside[i]) {
      out[o] = fill;
      continue;
    }
    const x0 = tx.a0[i];
    const x1 = tx.a1[i];
    const fx = tx.f[i];
    if (mode === 'nearest') {
      out[o] = table[src[r00 + x0] + shift];
      continue;
    }
    const c00 = table[src[r00 + x0] + shift] * (1 - fx) + table[src[r00 + x1] + shift] * fx;
    const c10 = table[src[r10 + x0] + shift] * (1 - fx) + table[src[r10 + x1] + shift] * fx;
    const c01 = table[src[r01 + x0] + shift] * (1 - fx) + table[src[r01 + x1] + shift] * fx;
    const c11 = table[src[r11 + x0] + shift] * (1 - fx) + table[src[r11 + x1] + shift] * fx;
    out[o] = (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
  }
}

function valuedRow(
  out: Float32Array,
  o: number,
  tx: Taps,
  { r00, r10, r01, r11, fy, fz }: Rows,
  mode: 'linear' | 'nearest',
  fill: number,
  src: ArrayLike<number>,
  value: (stored: number) => number,
): void {
  for (let i = 0; i < tx.inside.length; i++, o++) {
    if (!tx.inside[i]) {
      out[o] = fill;
      continue;
    }
    const x0 = tx.a0[i];
    const x1 = tx.a1[i];
    const fx = tx.f[i];
    if (mode === 'nearest') {
      out[o] = value(src[r00 + x0]);
      continue;
    }
    const c00 = value(src[r00 + x0]) * (1 - fx) + value(src[r00 + x1]) * fx;
    const c10 = value(src[r10 + x0]) * (1 - fx) + value(src[r10 + x1]) * fx;
    const c01 = value(src[r01 + x0]) * (1 - fx) + value(src[r01 + x1]) * fx;
    const c11 = value(src[r11 + x0]) * (1 - fx) + value(src[r11 + x1]) * fx;
    out[o] = (c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz;
  }
}

/**
 * Along one axis, for each grid index q (position p = scale·q + offset): whether p lies inside the source (half a
 * voxel of tolerance at the borders, so edge voxels of a fitted volume are not lost to rounding), the two source
 * taps as offsets along the layout (`step` per voxel) and the weight of the second. Nearest: the one tap, in `a0`.
 */
function sampleTaps(
  n: number,
  size: number,
  scale: number,
  offset: number,
  step: number,
  mode: 'linear' | 'nearest',
): { inside: Uint8Array; a0: Float64Array; a1: Float64Array; f: Float64Array } {
  const inside = new Uint8Array(n);
  const a0 = new Float64Array(n);
  const a1 = new Float64Array(n);
  const f = new Float64Array(n);
  for (let q = 0; q < n; q++) {
    const p = scale * q + offset;
    if (!(p >= -0.5 && p <= size - 0.5)) continue;
    inside[q] = 1;
    if (mode === 'nearest') {
      a0[q] = Math.min(size - 1, Math.max(0, Math.round(p))) * step;
      continue;
    }
    const c = Math.min(size - 1, Math.max(0, p));
    const lo = Math.floor(c);
    a0[q] = lo * step;
    a1[q] = Math.min(lo + 1, size - 1) * step;
    f[q] = c - lo;
  }
  return { inside, a0, a1, f };
}

/** Native → model grid. */
export function toModelGrid(native: Float32Array, fit: GridFit, mode: 'linear' | 'nearest', fill = 0): Float32Array {
  return resample(native, fit.nativeDims, fit.grid, fit.scale, fit.offset, mode, fill);
}

/**
 * Model grid → native grid, written through `layout` into `out` (the native volume as stored, when the model
 * saw it reoriented). Only native voxels whose model position lies inside the grid are visited: everything
 * else is `fill` in `toNativeGrid` too, and a structure-framed grid covers a small part of a 256³ head.
 * `out` must already hold `fill` elsewhere.
 */
export function toNativeGridInto(
  out: { [i: number]: number },
  layout: SourceLayout,
  model: Float32Array,
  fit: GridFit,
  value: (x: number) => number = (x) => x,
): void {
  const [tx, ty, tz] = [0, 1, 2].map((a) => modelTaps(fit, a));
  const [gx, gy] = fit.grid;
  const [s0, s1, s2] = layout.steps;
  const gxy = gx * gy;
  const at = (i: number, j: number, k: number) => model[i + gx * j + gxy * k];
  for (let c = 0; c < tz.i0.length; c++) {
    const [z0, z1, fz] = [tz.i0[c], tz.i1[c], tz.f[c]];
    for (let b = 0; b < ty.i0.length; b++) {
      const [y0, y1, fy] = [ty.i0[b], ty.i1[b], ty.f[b]];
      let o = layout.start + tx.first * s0 + (ty.first + b) * s1 + (tz.first + c) * s2;
      for (let a = 0; a < tx.i0.length; a++, o += s0) {
        const [x0, x1, fx] = [tx.i0[a], tx.i1[a], tx.f[a]];
        const c00 = at(x0, y0, z0) * (1 - fx) + at(x1, y0, z0) * fx;
        const c10 = at(x0, y1, z0) * (1 - fx) + at(x1, y1, z0) * fx;
        const c01 = at(x0, y0, z1) * (1 - fx) + at(x1, y0, z1) * fx;
        const c11 = at(x0, y1, z1) * (1 - fx) + at(x1, y1, z1) * fx;
        out[o] = value(Math.fround((c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz));
      }
    }
  }
}

/**
 * Along one axis, the native indices whose model position q = (p − offset)/scale lies inside the grid (half a
 * voxel of tolerance, as `resample`), from `first` on, with the two model indices and the weight of the
 * second for each: the same arithmetic as `toNativeGrid`, computed once per index instead of once per voxel.
 */
function modelTaps(fit: GridFit, axis: number): { first: number; i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const n = fit.grid[axis];
  const inv = 1 / fit.scale[axis];
  const off = -fit.offset[axis] / fit.scale[axis];
  const inside: number[] = [];
  for (let p = 0; p < fit.nativeDims[axis]; p++) {
    const q = inv * p + off;
    if (q >= -0.5 && q <= n - 0.5) inside.push(p);
  }
  const first = inside[0] ?? 0;
  const i0 = new Int32Array(inside.length);
  const i1 = new Int32Array(inside.length);
  const f = new Float64Array(inside.length);
  inside.forEach((p, k) => {
    const c = Math.min(n - 1, Math.max(0, inv * p + off));
    i0[k] = Math.floor(c);
    i1[k] = Math.min(i0[k] + 1, n - 1);
    f[k] = c - i0[k];
  });
  return { first, i0, i1, f };
}

/** Model grid → native grid (inverse map q = (p − offset)/scale). */
export function toNativeGrid(model: Float32Array, fit: GridFit, mode: 'linear' | 'nearest', fill = 0): Float32Array {
  const scale = fit.scale.map((a) => 1 / a);
  const offset = fit.offset.map((b, i) => -b / fit.scale[i]);
  return resample(model, fit.grid, fit.nativeDims, scale, offset, mode, fill);
}
