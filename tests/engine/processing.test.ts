import { describe, expect, it } from 'vitest';
import { fitToGrid, foregroundBox, percentileNormalize, quantiles, toModelGrid, toNativeGrid } from '../../main/engine/index.js';
import { structureMask } from '../../main/imaging/labels.js';

describe('intensity normalisation', () => {
  it('quantiles follow numpy linear interpolation', () => {
    const v = Float32Array.from({ length: 101 }, (_, i) => i);
    expect(quantiles(v, [0.02, 0.98, 0.5])).toEqual([2, 98, 50]);
  });

  it('clips to the 2nd/98th percentile and maps to [0, 1]', () => {
    const v = Float32Array.from({ length: 101 }, (_, i) => i);
    v[0] = -1e6; // outlier is clipped, not stretched over the range
    const n = percentileNormalize(v, 0.02, 0.98);
    expect(n[0]).toBe(0);
    expect(n[100]).toBe(1);
    expect(n[50]).toBeCloseTo(0.5, 6);
    expect(Math.min(...n)).toBe(0);
    expect(percentileNormalize(new Float32Array(10).fill(3), 0.02, 0.98).every((x) => x === 0)).toBe(true);
  });

  it('label union picks the chosen values; no values means all non-zero; scaling and storage types are honoured', () => {
    const vol = (data: Float32Array | Uint8Array | Int16Array, slope = 1, intercept = 0) => ({ data, dims: [data.length, 1, 1], slope, intercept });
    expect([...structureMask(vol(Float32Array.of(0, 3, 7, 3, 9)), [3, 9])]).toEqual([0, 1, 0, 1, 1]);
    expect([...structureMask(vol(Uint8Array.of(0, 3, 7, 3, 9)), [3, 9])]).toEqual([0, 1, 0, 1, 1]);
    expect([...structureMask(vol(Uint8Array.of(0, 3, 7, 3, 9)), undefined)]).toEqual([0, 1, 1, 1, 1]);
    // Stored 1.5 × 2 = 3: the real value decides, rounded.
    expect([...structureMask(vol(Float32Array.of(1.5, 3.5, 4.49), 2, 0), [3, 9])]).toEqual([1, 0, 1]);
    expect([...structureMask(vol(Int16Array.of(-5, 5, 600)), [-5, 600])]).toEqual([1, 0, 1]);
    expect([...structureMask(vol(Float32Array.of(NaN, 0, 2)), [])]).toEqual([0, 0, 1]);
  });
});

describe('fitting into the model grid', () => {
  it('keeps the aspect ratio (isotropic model voxels) and centres the volume', () => {
    const fit = fitToGrid([181, 217, 181], [1, 1, 1], [128, 128, 128]);
    expect(fit.modelVoxelMm).toBeCloseTo(217 / 128, 10);
    expect(fit.scale[0]).toBeCloseTo(fit.scale[1], 10);
    // Model centre maps to native centre.
    expect(fit.scale[0] * 63.5 + fit.offset[0]).toBeCloseTo(90, 8);
    expect(fit.scale[1] * 63.5 + fit.offset[1]).toBeCloseTo(108, 8);
    const aniso = fitToGrid([100, 100, 50], [1, 1, 3], [64, 64, 64]);
    expect(aniso.modelVoxelMm).toBeCloseTo(150 / 64, 10);
    expect(aniso.scale[2] * 3).toBeCloseTo(aniso.scale[0] * 1, 10);
  });

  it('pads outside the native field of view and maps a blob back to where it was', () => {
    const dims = [60, 40, 30];
    const spacing = [1, 1.5, 2];
    const c = [20, 25, 12];
    const native = new Float32Array(dims[0] * dims[1] * dims[2]);
    for (let z = 0, o = 0; z < dims[2]; z++)
      for (let y = 0; y < dims[1]; y++)
        for (let x = 0; x < dims[0]; x++, o++) {
          const d2 = ((x - c[0]) * spacing[0]) ** 2 + ((y - c[1]) * spacing[1]) ** 2 + ((z - c[2]) * spacing[2]) ** 2;
          native[o] = Math.exp(-d2 / (2 * 8 ** 2));
        }
    const fit = fitToGrid(dims, spacing, [32, 32, 32]);
    const model = toModelGrid(native, fit, 'linear');
    // The 60 mm x extent fills the grid; y (60 mm) too; z (60 mm) too — all extents equal here, so no padding.
    const back = toNativeGrid(model, fit, 'linear');
    let best = -1;
    let at = 0;
    back.forEach((v, i) => {
      if (v > best) {
        best = v;
        at = i;
      }
    });
    const bx = at % dims[0];
    const by = Math.floor(at / dims[0]) % dims[1];
    const bz = Math.floor(at / (dims[0] * dims[1]));
    expect(Math.abs(bx - c[0])).toBeLessThanOrEqual(1);
    expect(Math.abs(by - c[1])).toBeLessThanOrEqual(1);
    expect(Math.abs(bz - c[2])).toBeLessThanOrEqual(1);
    let err = 0;
    for (let i = 0; i < native.length; i++) err = Math.max(err, Math.abs(back[i] - native[i]));
    expect(err).toBeLessThan(0.1);

    const padded = fitToGrid([64, 32, 16], [1, 1, 1], [32, 32, 32]);
    const m = toModelGrid(new Float32Array(64 * 32 * 16).fill(1), padded, 'nearest');
    // Half-size y and quarter-size z: the grid's first and last rows along y and z are padding.
    expect(m[0]).toBe(0);
    expect(m[16 + 32 * 16 + 32 * 32 * 16]).toBe(1);
  });

  it('frames the foreground box (plus margin) instead of the field of view, ignoring sparse noise', () => {
    const dims = [80, 60, 40];
    const img = new Float32Array(80 * 60 * 40);
    const at = (x: number, y: number, z: number) => x + 80 * y + 80 * 60 * z;
    // A "head" occupying x 30..59, y 10..39, z 5..34, and two bright noise voxels far outside it.
    for (let z = 5; z <= 34; z++) for (let y = 10; y <= 39; y++) for (let x = 30; x <= 59; x++) img[at(x, y, z)] = 0.6;
    img[at(1, 1, 1)] = 1;
    img[at(78, 58, 38)] = 1;
    const box = foregroundBox(img, dims, 0.1)!;
    expect(box).toEqual({ lo: [30, 10, 5], hi: [59, 39, 34] });
    expect(foregroundBox(new Float32Array(80 * 60 * 40), dims, 0.1)).toBeNull();

    const fit = fitToGrid(dims, [1, 1, 1], [32, 32, 32], box, 5);
    expect(fit.modelVoxelMm).toBeCloseTo(40 / 32, 10); // 30 mm box + 2 × 5 mm margin
    expect(fit.scale[0] * 15.5 + fit.offset[0]).toBeCloseTo(44.5, 8); // grid centre = box centre
    const model = toModelGrid(img, fit, 'nearest');
    // The head fills the grid but for the margin: 4 model voxels (5 mm) of background on each side.
    const row = Array.from({ length: 32 }, (_, i) => model[i + 32 * 16 + 32 * 32 * 16]);
    expect(row.slice(0, 4).every((v) => v === 0)).toBe(true);
    expect(row.slice(4, 28).every((v) => v === Math.fround(0.6))).toBe(true);
    expect(row.slice(28).every((v) => v === 0)).toBe(true);
    // Back on the native grid, the head is where it was and the noise voxels (outside the box) are 0.
    const back = toNativeGrid(model, fit, 'nearest');
    expect(back[at(45, 25, 20)]).toBe(Math.fround(0.6));
    expect(back[at(1, 1, 1)]).toBe(0);
  });
});
