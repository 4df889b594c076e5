import { describe, expect, it } from 'vitest';
import { applyAxisMapping, axisMapping, inverseAxisMapping, isOrientationCode, orientationCode, reorientTo } from '../../main/imaging/index.js';
import type { Affine, Volume } from '../../main/imaging/volume.js';

function ras(dims: number[], spacing: number[]): Volume {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = i;
  const affine: Affine = [
    [spacing[0], 0, 0, -30],
    [0, spacing[1], 0, 12],
    [0, 0, spacing[2], -7],
    [0, 0, 0, 1],
  ];
  return { dims, spacing, affine, data, slope: 1, intercept: 0, description: '', source: { kind: 'memory' } };
}

const world = (a: Affine, p: number[]) => [0, 1, 2].map((r) => a[r][0] * p[0] + a[r][1] * p[1] + a[r][2] * p[2] + a[r][3]);

describe('reorientation to a named orientation', () => {
  it('RAS → LIA keeps every voxel at its world position, and the inverse restores data and affine exactly', () => {
    const v = ras([5, 4, 3], [1, 2, 3]);
    const m = axisMapping(v.affine, 'LIA');
    const lia = applyAxisMapping(v, m);
    expect(orientationCode(lia.affine)).toBe('LIA');
    expect(lia.dims).toEqual([5, 3, 4]);
    expect(lia.spacing).toEqual([1, 3, 2]);
    const [nx, ny] = lia.dims;
    const vIndex = (p: number[]) => p[0] + 5 * p[1] + 20 * p[2];
    for (let z = 0; z < lia.dims[2]; z++)
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++) {
          const w = world(lia.affine, [x, y, z]);
          // Back to the RAS grid's voxel index through its affine (axis-aligned, so a division).
          const p = [0, 1, 2].map((r) => Math.round((w[r] - v.affine[r][3]) / v.affine[r][r]));
          expect(lia.data[x + nx * y + nx * ny * z]).toBe(v.data[vIndex(p)]);
        }
    const back = applyAxisMapping(lia, inverseAxisMapping(m));
    expect(back.dims).toEqual(v.dims);
    expect(Array.from(back.data)).toEqual(Array.from(v.data));
    back.affine.forEach((row, r) => row.forEach((x, c) => expect(x).toBeCloseTo(v.affine[r][c], 12)));
  });

  it('a volume already in the wanted orientation is unchanged; 4-D frames move together; bad codes are refused', () => {
    const v = ras([3, 2, 2, 2], [1, 1, 1, 1]);
    expect(Array.from(reorientTo(v, 'RAS').data)).toEqual(Array.from(v.data));
    const lpi = reorientTo(v, 'LPI');
    expect(lpi.dims).toEqual([3, 2, 2, 2]);
    // Frame 2 of the result is frame 2 of the source, reversed on all three axes.
    expect(Array.from(lpi.data.slice(12, 24))).toEqual(Array.from(v.data.slice(12, 24)).reverse());
    expect(isOrientationCode('LIA')).toBe(true);
    expect(isOrientationCode('LLA')).toBe(false);
    expect(() => reorientTo(v, 'XYZ')).toThrow(/not an orientation code/);
  });
});
