import { describe, expect, it } from 'vitest';
import { labelMedians, matchIntensities, monotoneCurve } from '../../main/fusion/match-intensities.js';

const N = 24;
const dims: [number, number, number] = [N, N, N];
const idx = (x: number, y: number, z: number) => x + N * (y + N * z);

/** Four tissues in slabs along x (labels 1–4, six voxels each), a cube of label 5 inside slab 2. */
function tissues(): Int32Array {
  const l = new Int32Array(N * N * N);
  for (let z = 0; z < N; z++)
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++) l[idx(x, y, z)] = x >= 7 && x <= 11 && y >= 8 && y <= 15 && z >= 8 && z <= 15 ? 5 : 1 + Math.floor(x / 6);
  return l;
}

/** An image drawing each label at its intensity, with a little deterministic texture. */
function draw(labels: Int32Array, value: Record<number, number>, seed = 1): Float32Array {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Float32Array.from(labels, (l) => value[l] + rnd());
}

/** Mean absolute difference over the voxels of one label, or only those 2 voxels or more from any other label. */
function meanError(a: Float32Array, b: Float32Array, labels: Int32Array, label: number, interior = false): number {
  let s = 0;
  let n = 0;
  const inside = (x: number, y: number, z: number) => {
    for (let d = -2; d <= 2; d++)
      for (const [u, v, w] of [
        [x + d, y, z],
        [x, y + d, z],
        [x, y, z + d],
      ])
        if (u >= 0 && u < N && v >= 0 && v < N && w >= 0 && w < N && labels[idx(u, v, w)] !== label) return false;
    return true;
  };
  for (let i = 0; i < a.length; i++)
    if (labels[i] === label && (!interior || inside(i % N, Math.floor(i / N) % N, Math.floor(i / (N * N))))) {
      s += Math.abs(a[i] - b[i]);
      n++;
    }
  return s / n;
}

describe('matching a pair’s intensities to the target under its labels', () => {
  const labels = tissues();
  const target = draw(labels, { 1: 20, 2: 60, 3: 100, 4: 140, 5: 80 }, 7);

  it('gives an inverted-contrast pair the target’s intensity per tissue (shift)', () => {
    const inverted = draw(labels, { 1: 140, 2: 100, 3: 60, 4: 20, 5: 30 }, 3);
    const r = matchIntensities(target, inverted, labels, dims, 'shift');
    expect(r.labels).toBe(5);
    for (const l of [1, 2, 3, 4, 5]) {
      expect(meanError(inverted, target, labels, l)).toBeGreaterThan(20);
      // Inside each tissue the matched pair is within the texture of the target (the shifts are smoothed only across boundaries).
      expect(meanError(r.image, target, labels, l, true)).toBeLessThan(2);
    }
  });

  it('maps a scaled pair back onto the target’s grey levels (curve)', () => {
    const scaled = draw(labels, { 1: 2.5 * 20 + 30, 2: 2.5 * 60 + 30, 3: 2.5 * 100 + 30, 4: 2.5 * 140 + 30, 5: 2.5 * 80 + 30 }, 3);
    const r = matchIntensities(target, scaled, labels, dims, 'curve');
    expect(r.labels).toBe(5);
    for (const l of [1, 2, 3, 4, 5]) expect(meanError(r.image, target, labels, l)).toBeLessThan(2);
  });

  it('leaves a pair that carries one structure unchanged: its labels say nothing about the other tissues', () => {
    const one = Int32Array.from(labels, (l) => (l === 5 ? 17 : 0));
    const image = draw(labels, { 1: 140, 2: 100, 3: 60, 4: 20, 5: 30 }, 3);
    for (const mode of ['shift', 'curve'] as const) {
      const r = matchIntensities(target, image, one, dims, mode);
      expect(r.labels).toBe(0);
      expect(r.image).toBe(image);
    }
  });

  it('takes the medians only where the label is confident, so a misplaced boundary does not move them', () => {
    const pair = draw(labels, { 1: 20, 2: 60, 3: 100, 4: 140, 5: 80 }, 3);
    // The pair's own boundaries carry outliers (partial volume gone wrong): the medians must not see them.
    for (let i = 0; i < pair.length; i++) {
      const x = i % N;
      if (x % 6 === 0) pair[i] = 1000;
    }
    const m = labelMedians(target, pair, labels, dims, 20);
    for (const r of m.filter((r) => r.label !== 5)) expect(Math.abs(r.pair - r.target)).toBeLessThan(2);
  });
});

describe('monotone curve through the labels’ medians', () => {
  it('pools labels whose target order contradicts the pair’s, weighted by their voxels, and merges equal pair intensities', () => {
    const c = monotoneCurve([
      { pair: 10, target: 20, count: 100 },
      { pair: 20, target: 50, count: 300 },
      { pair: 30, target: 30, count: 100 },
      { pair: 40, target: 90, count: 100 },
      { pair: 40, target: 70, count: 100 },
    ]);
    expect(c.x).toEqual([10, 22.5, 40]);
    expect(c.y).toEqual([20, 45, 80]);
    for (let k = 1; k < c.y.length; k++) expect(c.y[k]).toBeGreaterThanOrEqual(c.y[k - 1]);
  });
});
