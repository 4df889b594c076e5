import { describe, expect, it } from 'vitest';
import { JLF_DEFAULTS, jlfSyntheticParams, jlfWeights, jointLabelFusion, regionVoxels } from '../../main/fusion/jlf.js';

const N = 32;
const dims: [number, number, number] = [N, N, N];
const idx = (x: number, y: number, z: number) => x + N * (y + N * z);

/** Deterministic smooth noise: patches differ from place to place, as in a real image. */
function texture(seed: number): Float32Array {
  let s = seed >>> 0;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const raw = new Float32Array(N * N * N).map(() => rnd());
  const out = new Float32Array(raw.length);
  for (let z = 0; z < N; z++)
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++) {
        let sum = 0;
        let n = 0;
        for (let d = -1; d <= 1; d++) {
          const xx = x + d;
          if (xx < 0 || xx >= N) continue;
          sum += raw[idx(xx, y, z)];
          n++;
        }
        out[idx(x, y, z)] = sum / n;
      }
  return out;
}

/** 0/1 cube [lo, hi]³, optionally shifted along x. */
function cube(lo: number, hi: number, shift = 0): Uint8Array {
  const out = new Uint8Array(N * N * N);
  for (let z = lo; z <= hi; z++) for (let y = lo; y <= hi; y++) for (let x = lo + shift; x <= hi + shift; x++) out[idx(x, y, z)] = 1;
  return out;
}

/** An image: texture plus a bright structure (contrast 3). */
function image(tex: Float32Array, label: Uint8Array): Float32Array {
  return tex.map((t, i) => t + 3 * label[i]);
}

/** The same volume moved by `shift` voxels along x (edges repeat). */
function shiftX<T extends Float32Array | Uint8Array>(v: T, shift: number): T {
  const out = v.slice() as T;
  for (let z = 0; z < N; z++) for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) out[idx(x, y, z)] = v[idx(Math.min(N - 1, Math.max(0, x - shift)), y, z)];
  return out;
}

function dice(p: Float32Array, truth: Uint8Array): number {
  let a = 0;
  let b = 0;
  let ab = 0;
  for (let i = 0; i < p.length; i++) {
    const x = p[i] >= 0.5;
    if (x) a++;
    if (truth[i]) b++;
    if (x && truth[i]) ab++;
  }
  return (2 * ab) / (a + b);
}

function voteOf(labels: Uint8Array[]): Float32Array {
  const out = new Float32Array(labels[0].length);
  for (const l of labels) for (let i = 0; i < out.length; i++) out[i] += l[i] / labels.length;
  return out;
}

describe('joint label fusion', () => {
  it('follows the atlas whose image matches the target where the vote follows the majority', () => {
    const truth = cube(10, 21);
    const tex = texture(1);
    const target = image(tex, truth);
    const big = cube(8, 23);
    // Atlas 1 is the target's own anatomy; atlases 2 and 3 say "larger" but their images show it, unlike the target.
    const atlases = [
      { image: image(tex, truth), label: truth },
      { image: image(texture(2), big), label: big },
      { image: image(texture(3), big), label: big },
    ];
    const vote = voteOf(atlases.map((a) => a.label));
    const r = jointLabelFusion({ dims, target, atlases }, { ...JLF_DEFAULTS, searchRadius: 0 });
    expect(dice(vote, truth)).toBeLessThan(0.8);
    expect(dice(r.probability, truth)).toBeGreaterThan(0.99);
    // The band where the atlases disagree: the vote says in, joint fusion out.
    const band = idx(9, 15, 15);
    expect(vote[band]).toBeGreaterThan(0.5);
    expect(r.probability[band]).toBeLessThan(0.5);
  });

  it('weights sum to one and favour the atlas that matches', () => {
    const diffs = [new Float64Array(125).fill(0.01), new Float64Array(125).fill(0.8), new Float64Array(125).map((_, i) => (i % 3) * 0.5)];
    for (const [alpha, beta] of [
      [0.1, 2],
      [1, 1],
      [0.01, 3],
    ]) {
      const w = jlfWeights(diffs, alpha, beta);
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      expect(w[0]).toBeGreaterThan(w[1]);
      expect(w[0]).toBeGreaterThan(w[2]);
    }
    // Identical atlases share the weight equally.
    const same = jlfWeights([diffs[1], diffs[1], diffs[1], diffs[1]], 0.1, 2);
    for (const x of same) expect(x).toBeCloseTo(0.25, 10);
  });

  it('α acts on the per-voxel error products, so the same errors weigh the same in a 3³ and a 5³ patch', () => {
    // Errors of 0.3 to 0.5 per voxel (z-scored intensities): M is then of the order of α, where the ridge matters.
    const errs = (size: number) => [0.3, 0.5, 0.4].map((e) => new Float64Array(size).fill(e));
    const small = jlfWeights(errs(27), 0.1, 2);
    const large = jlfWeights(errs(125), 0.1, 2);
    for (let k = 0; k < 3; k++) expect(large[k]).toBeCloseTo(small[k], 1);
    // And the ridge is felt: without it the best atlas takes more of the weight.
    expect(jlfWeights(errs(125), 1e-9, 2)[0]).toBeGreaterThan(large[0] + 0.05);
  });

  it('computes nothing where every atlas agrees, and keeps their label there', () => {
    const truth = cube(10, 21);
    const tex = texture(4);
    const atlases = [0, 1, 2].map((k) => ({ image: image(texture(10 + k), truth), label: truth }));
    const disagreement = { ...JLF_DEFAULTS, regionRadius: 0 };
    const r = jointLabelFusion({ dims, target: image(tex, truth), atlases }, disagreement);
    expect(r.computed).toBe(0);
    // With a region radius only the voxels within it of a label change are computed (the search may move a
    // boundary all atlases share); far from any boundary nothing is.
    const near = jointLabelFusion({ dims, target: image(tex, truth), atlases }, { ...JLF_DEFAULTS, regionRadius: 2 });
    expect(near.computed).toBe(16 ** 3 - 8 ** 3);
    expect(dice(near.probability, truth)).toBeGreaterThan(0.99);
    expect(dice(r.probability, truth)).toBe(1);

    // One atlas differs in one corner: only the voxels where they disagree are computed.
    const other = truth.slice();
    other[idx(10, 10, 10)] = 0;
    other[idx(22, 21, 21)] = 1;
    const r2 = jointLabelFusion({ dims, target: image(tex, truth), atlases: [...atlases.slice(0, 2), { ...atlases[2], label: other }] }, disagreement);
    expect(r2.computed).toBe(2);
    const count = new Uint16Array(truth.length).map((_, i) => truth[i] * 2 + other[i]);
    expect(Array.from(regionVoxels(count, 3, dims, 0, 5)).sort((a, b) => a - b)).toEqual([idx(10, 10, 10), idx(22, 21, 21)]);
    // Agreed voxels keep the atlases' label whatever the target looks like there.
    for (const i of [idx(15, 15, 15), idx(2, 2, 2), idx(11, 11, 11)]) expect(r2.probability[i]).toBe(truth[i]);
  });

  it('the local search recovers atlases shifted by two voxels', () => {
    const truth = cube(10, 21);
    const tex = texture(5);
    const target = image(tex, truth);
    // The same head moved left and right by 2 voxels: the atlases disagree on a band 4 voxels wide each side.
    const atlases = [2, -2].map((s) => ({ image: shiftX(target, s), label: shiftX(truth, s) }));
    const withSearch = jointLabelFusion({ dims, target, atlases }, JLF_DEFAULTS);
    const without = jointLabelFusion({ dims, target, atlases }, { ...JLF_DEFAULTS, searchRadius: 0 });
    expect(withSearch.computed).toBeGreaterThan(0);
    expect(dice(withSearch.probability, truth)).toBeGreaterThan(0.99);
    expect(dice(without.probability, truth)).toBeLessThan(dice(withSearch.probability, truth) - 0.02);
  });

  it('rendered pairs: a one-voxel search for the thalamus and putamen, the defaults for any structure that is not only those', () => {
    for (const labels of [[10, 49], [12, 51], [10], [12, 51, 10, 49]]) expect(jlfSyntheticParams(labels)).toEqual({ ...JLF_DEFAULTS, searchRadius: 1 });
    for (const labels of [[17, 53], [4, 43], [12, 51, 17], [13, 52], []]) expect(jlfSyntheticParams(labels)).toEqual(JLF_DEFAULTS);
    expect(jlfSyntheticParams(undefined)).toEqual(JLF_DEFAULTS);
  });
});
