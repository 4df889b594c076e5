import { describe, expect, test } from 'vitest';
import { lesionStats, lesionStatsCsv } from '../../main/export/lesion-stats.js';
import { connectedComponents } from '../../main/imaging/components.js';
import { binEdges, fitBoostedTrees, predictBoostedTrees, quantise, seededRandom } from '../../main/lesion/boosting.js';
import { brainMask } from '../../main/lesion/brain-mask.js';
import { segmentLesionsByClassifier } from '../../main/lesion/classifier.js';
import { distanceToOutside, gaussian } from '../../main/lesion/filters.js';
import { segmentLesionsByThreshold } from '../../main/lesion/threshold.js';
import { chooseAlign, chooseMethod, DEFAULTS } from '../../main/pipeline/defaults.js';
import { count, dice, DIMS, syntheticCase } from './synthetic.js';

// Small trees keep the test quick; the method is the same as the default.
const FAST = { boosting: { trees: 40, maxDepth: 4 }, samplesPerExample: 4000 };

describe('lesion classifier (boosted trees fitted on the examples at run time)', () => {
  const a = syntheticCase([{ at: [12, 14, 12], radius: 5 }], 1);
  const b = syntheticCase([{ at: [26, 25, 19], radius: 4 }], 2, { scale: 3, offset: 40 });

  test('a bright blob learned from two examples is found in a third at another place, whatever its units', () => {
    const target = syntheticCase([{ at: [15, 27, 18], radius: 5 }], 3, { scale: 0.5, offset: 0 });
    const r = segmentLesionsByClassifier(target.image, [a, b], FAST);
    expect(count(target.label)).toBeGreaterThan(400);
    expect(dice(r.mask, target.label)).toBeGreaterThan(0.8);
    expect(connectedComponents(r.mask, DIMS, 26).count).toBe(1);
    // The rule was chosen on the examples held out in turn, and they were found there too.
    expect(r.heldOutDice).toBeGreaterThan(0.7);
  });

  test('an image without lesion gives an empty mask', () => {
    const target = syntheticCase([], 4);
    const r = segmentLesionsByClassifier(target.image, [a, b], FAST);
    expect(count(r.mask)).toBe(0);
  });

  test('examples of different channel counts from the target are refused', () => {
    const target = syntheticCase([], 5);
    const two = { ...target.image, channels: [target.image.channels[0], target.image.channels[0]] };
    expect(() => segmentLesionsByClassifier(two, [a, b], FAST)).toThrow(/channel/);
  });
});

describe('threshold baseline', () => {
  test('the threshold fitted to the examples lies between brain and lesion and finds the blob', () => {
    const a = syntheticCase([{ at: [12, 14, 12], radius: 5 }], 1);
    const b = syntheticCase([{ at: [26, 25, 19], radius: 4 }], 2, { scale: 3, offset: 40 });
    const target = syntheticCase([{ at: [15, 27, 18], radius: 5 }], 3, { scale: 0.5, offset: 0 });
    const r = segmentLesionsByThreshold(target.image, [a, b]);
    // Normalised units: the brain's texture stays within ~±1.5 IQR of its median, the blobs are ~+4 above it.
    expect(r.rule.threshold).toBeGreaterThan(1);
    expect(r.rule.threshold).toBeLessThan(4);
    expect(dice(r.mask, target.label)).toBeGreaterThan(0.9);
    expect(count(segmentLesionsByThreshold(syntheticCase([], 6).image, [a, b]).mask)).toBe(0);
  });
});

describe('lesion statistics', () => {
  test('count, per-lesion and total volume by connected components (26 vs 6)', () => {
    const [nx, ny, nz] = [10, 10, 10];
    const data = new Uint8Array(nx * ny * nz);
    const set = (i: number, j: number, k: number) => (data[i + j * nx + k * nx * ny] = 1);
    for (let k = 0; k < 3; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 3; i++) set(i, j, k); // 27 voxels
    for (let k = 6; k < 8; k++) for (let j = 6; j < 8; j++) for (let i = 6; i < 8; i++) set(i, j, k); // 8 voxels
    set(3, 3, 3); // touches the first cube at a corner only
    const affine = [
      [2, 0, 0, 0],
      [0, 2, 0, 0],
      [0, 0, 2, 0],
      [0, 0, 0, 1],
    ];
    const mask = { data, dims: [nx, ny, nz], affine, slope: 1, intercept: 0 };
    const s26 = lesionStats(mask);
    expect(s26.count).toBe(2);
    expect(s26.lesions.map((l) => l.voxels)).toEqual([28, 8]);
    expect(s26.lesions[0].volumeMl).toBeCloseTo((28 * 8) / 1000, 6);
    expect(s26.totalMl).toBeCloseTo((36 * 8) / 1000, 6);
    expect(s26.lesions[1].centreVoxel).toEqual([6.5, 6.5, 6.5]);
    const s6 = lesionStats(mask, 6);
    expect(s6.count).toBe(3);
    expect(lesionStats(mask, 6, 2).count).toBe(2);
    const csv = lesionStatsCsv(s26).split('\r\n');
    expect(csv[0]).toBe('lesion,voxels,volume_ml,centre_i,centre_j,centre_k');
    expect(csv[1]).toBe('1,28,0.2240,1.1,1.1,1.1');
    expect(csv[3]).toBe('total (2 lesions),36,0.2880,,,');
    expect(lesionStats({ ...mask, data: new Uint8Array(data.length) }).count).toBe(0);
  });
});

describe('building blocks', () => {
  test('brain mask: the largest part above background, holes filled, specks dropped', () => {
    const { image } = syntheticCase([], 1);
    const x = image.channels[0].slice();
    const [nx, ny] = DIMS;
    const at = (i: number, j: number, k: number) => i + j * nx + k * nx * ny;
    x[at(20, 20, 16)] = 0; // a hole at the centre
    x[at(1, 1, 1)] = 50; // a speck in the background
    const m = brainMask(x, DIMS);
    expect(m[at(20, 20, 16)]).toBe(1);
    expect(m[at(1, 1, 1)]).toBe(0);
    let inside = 0;
    for (let v = 0; v < x.length; v++) if (image.channels[0][v] !== 0) inside++;
    expect(count(m)).toBe(inside);
  });

  test('smoothing has the variance of the Gaussian asked for, exact taps and box filters alike', () => {
    const dims: [number, number, number] = [81, 9, 1];
    for (const sigma of [1, 4]) {
      const x = new Float32Array(81 * 9);
      x[40 + 81 * 4] = 1; // the middle of a row well inside the grid
      // Voxels of 1 km across y and z: the test looks at x alone.
      const y = gaussian(x, dims, [1, 1000, 1000], sigma);
      let sum = 0;
      let m2 = 0;
      for (let v = 0; v < y.length; v++) {
        sum += y[v];
        m2 += y[v] * ((v % 81) - 40) ** 2;
      }
      expect(sum).toBeCloseTo(1, 4);
      expect(Math.sqrt(m2 / sum)).toBeGreaterThan(sigma * 0.95);
      expect(Math.sqrt(m2 / sum)).toBeLessThan(sigma * 1.05);
    }
  });

  test('distance to the outside matches brute force, anisotropic voxels included', () => {
    const dims: [number, number, number] = [9, 8, 7];
    const spacing = [1, 2, 1.5];
    const rnd = seededRandom(7);
    const mask = Uint8Array.from({ length: 9 * 8 * 7 }, () => (rnd() < 0.85 ? 1 : 0));
    const d = distanceToOutside(mask, dims, spacing);
    const pos = (v: number) => [v % 9, Math.floor(v / 9) % 8, Math.floor(v / 72)];
    for (let v = 0; v < mask.length; v++) {
      const [i, j, k] = pos(v);
      // Off the grid counts as outside: one voxel beyond each face.
      let best = Math.min((i + 1) * spacing[0], (9 - i) * spacing[0], (j + 1) * spacing[1], (8 - j) * spacing[1], (k + 1) * spacing[2], (7 - k) * spacing[2]);
      if (!mask[v]) best = 0;
      for (let w = 0; w < mask.length; w++) {
        if (mask[w]) continue;
        const [a, b, c] = pos(w);
        best = Math.min(best, Math.hypot((a - i) * spacing[0], (b - j) * spacing[1], (c - k) * spacing[2]));
      }
      expect(d[v]).toBeCloseTo(best, 4);
    }
  });

  test('boosted trees learn an interaction of two features', () => {
    const rnd = seededRandom(3);
    const n = 4000;
    const values = new Float32Array(n * 3);
    const y = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      for (let f = 0; f < 3; f++) values[r * 3 + f] = rnd();
      y[r] = values[r * 3] > 0.5 !== values[r * 3 + 1] > 0.3 ? 1 : 0;
    }
    const edges = binEdges(values, 3, 32);
    const model = fitBoostedTrees(quantise(values, 3, edges), y, 3, { trees: 30, maxDepth: 3 });
    const p = predictBoostedTrees(model, values, edges);
    let right = 0;
    for (let r = 0; r < n; r++) right += (p[r] > 0.5 ? 1 : 0) === y[r] ? 1 : 0;
    expect(right / n).toBeGreaterThan(0.95);
    // Raw values against the edges give what the trees give on the bins they were fitted on, value for value.
    const bins = quantise(values, 3, edges);
    for (let r = 0; r < n; r++) {
      let s = model.base;
      for (const root of model.roots) {
        let k = root;
        while (model.feature[k] >= 0) k = bins[r * 3 + model.feature[k]] <= model.split[k] ? model.left[k] : model.right[k];
        s += model.value[k];
      }
      expect(p[r]).toBe(Math.fround(1 / (1 + Math.exp(-s))));
    }
  });
});

describe('lesion defaults', () => {
  test('--lesion picks the classifier without alignment; a named lesion method keeps its choice', () => {
    expect(chooseMethod('segment', { lesion: true })).toBe(DEFAULTS.lesion.method);
    expect(DEFAULTS.lesion).toEqual({ method: 'classifier', align: 'none' });
    expect(chooseMethod('segment', { lesion: true, method: 'threshold' })).toBe('threshold');
    // Naming a model means the model, as for anatomy (a package trained for lesions).
    expect(chooseMethod('segment', { lesion: true, modelNamed: true })).toBe('model');
    expect(chooseMethod('segment', { lesion: true, modelNamed: true, method: 'classifier' })).toBe('classifier');
    expect(chooseAlign('segment', 'classifier', undefined)).toBe('none');
    expect(chooseAlign('segment', 'threshold', undefined)).toBe('none');
    // Anatomy keeps its own defaults.
    expect(chooseMethod('segment', {})).toBe(DEFAULTS.segment.method);
    expect(chooseAlign('segment', 'vote', undefined)).toBe(DEFAULTS.segment.align);
  });
});
