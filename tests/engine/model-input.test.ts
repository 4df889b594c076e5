import { describe, expect, it } from 'vitest';
import { percentileNormalize, percentileNormalizer, quantiles, realValues, resample, toNativeGrid, volumeQuantiles } from '../../main/engine/index.js';
import { fitToGrid, resampleFrom, toNativeGridInto } from '../../main/engine/processing/grid-fit.js';
import { majorityVote, majorityVotes } from '../../main/fusion/vote.js';
import { applyAxisMapping, inverseAxisMapping, mappedLayout } from '../../main/imaging/reorient.js';
import type { AxisMapping } from '../../main/imaging/reorient.js';
import { structureMask } from '../../main/imaging/labels.js';
import type { Volume, VoxelArray } from '../../main/imaging/volume.js';
import { boxWhere, unionBox } from '../../main/imaging/voxel-box.js';
import { LruCache } from '../../main/util/lru-cache.js';

/** numpy's linear quantile by a full sort: the reference the fast paths must equal. */
function sortedQuantile(values: ArrayLike<number>, q: number): number {
  const a = Float64Array.from(Array.from(values).filter((x) => Number.isFinite(x))).sort();
  const pos = q * (a.length - 1);
  const lo = Math.floor(pos);
  return lo + 1 < a.length ? a[lo] + (a[lo + 1] - a[lo]) * (pos - lo) : a[lo];
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function volume(data: VoxelArray, dims: number[], extra: Partial<Volume> = {}): Volume {
  return {
    dims,
    spacing: [1, 1.5, 2],
    affine: [
      [0, 0, -1, 10],
      [-1, 0, 0, 5],
      [0, 1, 0, -3],
      [0, 0, 0, 1],
    ],
    data,
    slope: 1,
    intercept: 0,
    description: '',
    source: { kind: 'memory' },
    ...extra,
  } as Volume;
}

describe('quantiles without a sort', () => {
  const r = rng(7);
  const dims = [23, 19, 17];
  const n = dims[0] * dims[1] * dims[2];
  const cases: [string, Volume][] = [
    [
      'uint8 with a background',
      volume(
        Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : Math.floor(r() * 200))),
        dims,
      ),
    ],
    [
      'int16 with slope and intercept',
      volume(
        Int16Array.from({ length: n }, () => Math.floor(r() * 3000) - 1000),
        dims,
        { slope: 0.25, intercept: 7 },
      ),
    ],
    [
      'uint16',
      volume(
        Uint16Array.from({ length: n }, () => Math.floor(r() * 60000)),
        dims,
      ),
    ],
    [
      'float32 with NaN and infinities',
      volume(
        Float32Array.from({ length: n }, (_, i) => (i % 101 === 0 ? NaN : i % 211 === 0 ? Infinity : i % 5 === 0 ? 0 : r() * 1e3 - 100)),
        dims,
      ),
    ],
    [
      'int32 with a negative slope',
      volume(
        Int32Array.from({ length: n }, () => Math.floor(r() * 1e6)),
        dims,
        { slope: -0.5, intercept: 3 },
      ),
    ],
    ['float64 of one value', volume(new Float64Array(n).fill(4.5), dims)],
  ];
  for (const [name, v] of cases) {
    it(`${name}: equal to numpy's linear quantile of the real values`, () => {
      const real = realValues(v);
      const qs = [0, 0.02, 0.5, 0.98, 1];
      const got = volumeQuantiles(v, qs);
      qs.forEach((q, k) => expect(got[k]).toBe(sortedQuantile(real, q)));
      expect(quantiles(real, qs)).toEqual(got);
    });
  }

  it('the normaliser gives the same voxels as normalising the whole volume', () => {
    for (const [, v] of cases) {
      const whole = percentileNormalize(realValues(v), 0.02, 0.98);
      const f = percentileNormalizer(v, 0.02, 0.98);
      const one = Float32Array.from(v.data as ArrayLike<number>, (x) => f(x));
      expect(one).toEqual(whole);
    }
  });
});

describe('sampling through a layout', () => {
  const dims = [13, 11, 9];
  const n = dims[0] * dims[1] * dims[2];
  const r = rng(3);
  const data = Float32Array.from({ length: n }, () => r());
  const mappings: AxisMapping[] = [
    { perm: [0, 1, 2], flip: [false, false, false] },
    { perm: [2, 0, 1], flip: [true, false, true] },
    { perm: [1, 2, 0], flip: [false, true, false] },
  ];
  for (const m of mappings) {
    it(`reads a volume as if reoriented (perm ${m.perm.join('')}, flip ${m.flip.map(Number).join('')}) without copying it`, () => {
      const v = volume(data, dims);
      const moved = applyAxisMapping(v, m);
      const l = mappedLayout(dims, m);
      expect(l.dims).toEqual(moved.dims.slice(0, 3));
      const fit = fitToGrid(l.dims, moved.spacing, [8, 8, 8], { lo: [1, 2, 1], hi: [l.dims[0] - 2, l.dims[1] - 1, l.dims[2] - 2] }, 1.5);
      const square = (x: number) => Math.fround(x * x);
      for (const mode of ['linear', 'nearest'] as const) {
        const ref = resample(Float32Array.from(moved.data as Float32Array, square), l.dims, fit.grid, fit.scale, fit.offset, mode);
        expect(resampleFrom(data, l.dims, l, fit.grid, fit.scale, fit.offset, mode, 0, square)).toEqual(ref);
      }
      // And back: written into the stored order, the same as resampling natively and undoing the mapping.
      const model = Float32Array.from({ length: 8 * 8 * 8 }, () => r());
      const ref = applyAxisMapping({ ...moved, data: toNativeGrid(model, fit, 'linear', 0) }, inverseAxisMapping(m)).data;
      const out = new Float32Array(n);
      toNativeGridInto(out, l, model, fit);
      expect(out).toEqual(ref);
    });
  }
});

describe('majority votes of several structures in one read', () => {
  it("equal the vote of each structure alone, with the union of the maps' boxes", async () => {
    const dims = [12, 10, 8];
    const n = dims[0] * dims[1] * dims[2];
    const r = rng(11);
    const maps = [0, 1, 2, 3, 4].map(() =>
      volume(
        Int16Array.from({ length: n }, () => Math.floor(r() * 6)),
        dims,
      ),
    );
    let reads = 0;
    const read = async (i: number) => {
      reads++;
      return maps[i];
    };
    const sets = [[1], [2, 3], undefined];
    const together = await majorityVotes(maps.length, read, sets);
    expect(reads).toBe(maps.length);
    for (let k = 0; k < sets.length; k++) {
      const alone = await majorityVote(maps.length, async (i) => maps[i], sets[k]);
      expect(together[k].mask).toEqual(alone.mask);
      expect(together[k].doubt).toEqual(alone.doubt);
      expect(together[k].box).toEqual(unionBox(maps.map((m) => boxWhere(structureMask(m, sets[k]), dims))));
    }
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entries once over its byte bound, and never keeps an entry larger than it', () => {
    const c = new LruCache<Uint8Array>(10, (a) => a.byteLength);
    c.set('a', new Uint8Array(4));
    c.set('b', new Uint8Array(4));
    expect(c.get('a')).toBeDefined(); // a is now the most recent
    c.set('c', new Uint8Array(4));
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.bytes).toBe(8);
    c.set('huge', new Uint8Array(11));
    expect(c.get('huge')).toBeUndefined();
    c.set('a', new Uint8Array(2));
    expect(c.bytes).toBe(6);
  });
});
