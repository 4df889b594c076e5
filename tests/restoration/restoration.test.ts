import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/index.js';
import { runPipeline } from '../../main/pipeline/run.js';
import { correctBias, correctBiasInContext } from '../../main/restoration/bias-field.js';
import { denoiseInContext } from '../../main/restoration/denoise.js';
import { judgeExamples } from '../../main/restoration/guard.js';
import { maskedMse } from '../../main/restoration/metrics.js';
import { nlmFilter, type Dims3 } from '../../main/restoration/nlm.js';
import { estimateNoise } from '../../main/restoration/noise.js';
import { methodFromExamples } from '../../main/restoration/restore.js';
import { inlineRunner } from '../../main/restoration/runner.js';
import { neuroverse } from '../helpers/cli.js';
import { testVolume } from '../helpers/volumes.js';
import { tempDir } from '../helpers/tmp.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/**
 * A head-like phantom in scanner units (not 0–1): air 0 around an ellipsoid "head" with a dark rim (bone,
 * 300), bright "white matter" 2000 on one side and "grey matter" 1200 on the other, and a small dark blob.
 */
function phantom(n: number, shift = 0): Float32Array {
  const out = new Float32Array(n ** 3);
  const c = n / 2;
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const r = Math.hypot((x - c) / (0.42 * n), (y - c) / (0.4 * n), (z - c) / (0.38 * n));
        let v = 0;
        if (r < 1) v = r > 0.85 ? 300 : x + shift < c ? 2000 : 1200;
        if (Math.hypot(x - c - 3, y - c + 4, z - c) < n / 10) v = 500;
        out[x + n * (y + n * z)] = v;
      }
  return out;
}

function rician(clean: Float32Array, sigma: number, seed: number): Float32Array {
  const r = rng(seed);
  return clean.map((v) => Math.hypot(v + sigma * gauss(r), sigma * gauss(r)));
}

const cube = (n: number): Dims3 => [n, n, n];

function asVolume(data: Float32Array, n: number): Volume {
  return testVolume([n, n, n], data, 'phantom');
}

describe('non-local means', () => {
  it('lowers the error of a noisy phantom and keeps the mean of its flat regions, in its own units', () => {
    const n = 32;
    const clean = phantom(n);
    const sigma = 100;
    const r = rng(1);
    const noisy = clean.map((v) => v + sigma * gauss(r));
    const [out] = nlmFilter(noisy, noisy, cube(n), [{ h: 0.8 * sigma, sub: 2 * sigma * sigma, rician: false }], { patchRadius: 1, searchRadius: 2, sigma });
    expect(maskedMse(out, clean)).toBeLessThan(maskedMse(noisy, clean) / 4);
    // The bright tissue's core: voxels whose 3³ neighbourhood is all bright.
    let s = 0;
    let k = 0;
    for (let z = 1; z < n - 1; z++)
      for (let y = 1; y < n - 1; y++)
        for (let x = 1; x < n - 1; x++) {
          let flat = true;
          for (let d = -1; d <= 1 && flat; d++)
            for (let e = -1; e <= 1 && flat; e++) for (let f = -1; f <= 1; f++) if (clean[x + f + n * (y + e + n * (z + d))] !== 2000) flat = false;
          if (!flat) continue;
          s += out[x + n * (y + n * z)];
          k++;
        }
    expect(k).toBeGreaterThan(500);
    expect(Math.abs(s / k - 2000)).toBeLessThan(20);
  });

  it('with the Rician correction, removes most of the noise floor where the signal is zero', () => {
    const n = 24;
    const clean = new Float32Array(n ** 3);
    for (let i = 0; i < clean.length; i++) clean[i] = i % n < n / 2 ? 0 : 400;
    const sigma = 40;
    const noisy = rician(clean, sigma, 2);
    const params = [false, true].map((r) => ({ h: 0.8 * sigma, sub: 2 * sigma * sigma, rician: r }));
    const [plain, corrected] = nlmFilter(noisy, noisy, cube(n), params, { patchRadius: 1, searchRadius: 2, sigma });
    const darkMean = (a: Float32Array) => {
      let s = 0;
      let k = 0;
      for (let i = 0; i < a.length; i++)
        if (i % n < n / 2 - 3) {
          s += a[i];
          k++;
        }
      return s / k;
    };
    // Magnitude noise on zero signal averages to σ√(π/2) ≈ 1.25σ: the bias the correction removes.
    expect(darkMean(plain)).toBeGreaterThan(sigma);
    expect(darkMean(corrected)).toBeLessThan(darkMean(plain) / 2);
  });

  it('estimates σ of magnitude noise from the background', () => {
    const n = 40;
    const noisy = rician(phantom(n), 50, 3);
    const head = new Uint8Array(noisy.length);
    phantom(n).forEach((v, i) => (head[i] = v > 0 ? 1 : 0));
    const est = estimateNoise(noisy, cube(n), head);
    expect(est.how).toBe('background');
    expect(est.sigma).toBeGreaterThan(45);
    expect(est.sigma).toBeLessThan(55);
  });
});

describe('strength chosen from the examples', () => {
  it('uses a larger h when the examples (and the target) are noisier, and brings the target closer to its clean image', async () => {
    const n = 36;
    const clean = phantom(n);
    const hOf = async (sigma: number) => {
      const target = rician(clean, sigma, 10);
      const examples = [
        {
          name: 'example',
          read: async () => ({ input: rician(phantom(n, 2), sigma, 11), target: phantom(n, 2), dims: cube(n) }),
        },
      ];
      const r = await denoiseInContext(target, cube(n), examples, inlineRunner);
      expect(maskedMse(r.output, clean)).toBeLessThan(maskedMse(target, clean));
      expect(r.guard.passed).toBe(true);
      return r.settings.k * r.noise.sigma;
    };
    const quiet = await hOf(40);
    const noisy = await hOf(160);
    expect(noisy).toBeGreaterThan(2 * quiet);
  });
});

describe('bias-field correction', () => {
  it('removes a known smooth multiplicative field from a phantom', () => {
    const n = 40;
    const clean = phantom(n);
    const biased = new Float32Array(clean.length);
    for (let z = 0; z < n; z++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) {
          const i = x + n * (y + n * z);
          const [u, v] = [(2 * x) / (n - 1) - 1, (2 * y) / (n - 1) - 1];
          biased[i] = clean[i] * Math.exp(0.5 * u - 0.4 * v * v + 0.1);
        }
    const { output } = correctBias(biased, cube(n), { degree: 2 });
    // Spread of the bright tissue's intensities, relative to its mean: the field's doing.
    const cv = (a: Float32Array) => {
      const vals: number[] = [];
      clean.forEach((v, i) => v === 2000 && vals.push(a[i]));
      const m = vals.reduce((s, x) => s + x, 0) / vals.length;
      return Math.sqrt(vals.reduce((s, x) => s + (x - m) ** 2, 0) / vals.length) / m;
    };
    expect(cv(biased)).toBeGreaterThan(0.05);
    expect(cv(output)).toBeLessThan(cv(biased) / 3);
  });
});

/**
 * A head whose brain mixes two tissues in blobs a few voxels across (white matter 2000, grey matter 1200, white
 * the larger share: every part of the head has some of both, as a real brain does) inside a darker rim (600, skull and scalp),
 * with a little noise, times exp(field(u, v, w)) where u, v, w are the grid coordinates in [-1, 1].
 */
function tissueHead(n: number, seed: number, field: (u: number, v: number, w: number) => number): { clean: Float32Array; biased: Float32Array } {
  const clean = new Float32Array(n ** 3);
  const biased = new Float32Array(n ** 3);
  const r = rng(seed);
  const c = (n - 1) / 2;
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const i = x + n * (y + n * z);
        const rad = Math.hypot((x - c) / (0.45 * n), (y - c) / (0.42 * n), (z - c) / (0.4 * n));
        if (rad >= 1) continue;
        const wm = Math.sin(x / 2.2 + seed) + Math.sin(y / 2.5) + Math.sin(z / 2.8 + 2 * seed) > -0.6;
        clean[i] = (rad > 0.85 ? 600 : wm ? 2000 : 1200) + 15 * gauss(r);
        const [u, v, w] = [x, y, z].map((p) => p / c - 1);
        biased[i] = clean[i] * Math.exp(field(u, v, w));
      }
  return { clean, biased };
}

describe('bias-field correction from the examples', () => {
  const n = 48;
  const fields = [
    (u: number, v: number) => 0.2 * u - 0.15 * v * v,
    (u: number, v: number, w: number) => -0.15 * v + 0.1 * u * w,
    (u: number, _v: number, w: number) => 0.12 * w * w - 0.1 * u,
  ];
  const examples = fields.map((f, k) => {
    const { clean, biased } = tissueHead(n, 10 + k, f);
    return { name: `ex${k}`, read: async () => ({ input: biased, target: clean, dims: cube(n) }) };
  });
  const rms = (a: Float32Array, b: Float32Array) => Math.sqrt(maskedMse(a, b));

  it('removes a known smooth field from a head and leaves a head without one (nearly) as it is, passing the guard', async () => {
    const withField = tissueHead(n, 20, (u, v, w) => 0.15 * v - 0.1 * w * w + 0.05 * u * v);
    const fixed = await correctBiasInContext(withField.biased, cube(n), examples);
    expect(fixed.guard.passed).toBe(true);
    expect(fixed.fit).toBe('peaks');
    expect(rms(withField.biased, withField.clean)).toBeGreaterThan(30);
    expect(rms(fixed.output, withField.clean)).toBeLessThan(rms(withField.biased, withField.clean) / 3);

    const flat = tissueHead(n, 21, () => 0);
    const kept = await correctBiasInContext(flat.biased, cube(n), examples);
    expect(kept.guard.passed).toBe(true);
    // Within 0.25 % of the brain's intensities: no anatomy taken for a field.
    expect(rms(kept.output, flat.biased)).toBeLessThan(5);
  });

  it('the N3 estimate, unlike the tissue peaks, takes anatomy for a field in an unbiased head', () => {
    const flat = tissueHead(n, 22, () => 0);
    const change = (fit: 'peaks' | 'n3') => rms(correctBias(flat.biased, cube(n), { fit, degree: 3 }).output, flat.biased);
    expect(change('peaks')).toBeLessThan(change('n3'));
  });
});

describe('the guard', () => {
  it('flags a method that takes the examples further from their targets', () => {
    const r = rng(4);
    const target = new Float32Array(1000).map(() => 100 + r());
    const input = target.map((v) => v + 5 * gauss(r));
    const piece = { example: 0, input, target, score: new Uint8Array(1000).fill(1), peak: 101 };
    const closer = judgeExamples([{ name: 'a' }], [piece], () => target.map((v, i) => (v + input[i]) / 2));
    const further = judgeExamples([{ name: 'a' }], [piece], () => input.map((v) => v + 10 * gauss(r)));
    expect(closer[0].outputPsnr).toBeGreaterThan(closer[0].inputPsnr);
    expect(further[0].outputPsnr).toBeLessThan(further[0].inputPsnr);
  });

  it('a default restoration that harms its examples returns the input unchanged, with a QC warning', async () => {
    // The "task" of these pairs keeps the input's noise and adds more: denoising moves each example away from its target.
    const dir = tempDir('nv-restore-guard-');
    const n = 32;
    const pairs = [];
    for (const k of [1, 2]) {
      const input = join(dir, `noisy${k}.nii.gz`);
      const target = join(dir, `noisier${k}.nii.gz`);
      const noisy = rician(phantom(n, k), 80, 20 + k);
      const r = rng(40 + k);
      await writeNifti(input, asVolume(noisy, n));
      await writeNifti(
        target,
        asVolume(
          noisy.map((v) => v + 40 * gauss(r)),
          n,
        ),
      );
      pairs.push({ imageFile: input, labelFile: target });
    }
    const targetData = rician(phantom(n), 80, 30);
    const result = await runPipeline({
      target: asVolume(targetData, n),
      structures: [{ task: 'generate', pairs }],
      align: 'none',
      method: 'nlm',
      restoration: { auto: true, why: 'test' },
    });
    expect(result.restoration?.guard.passed).toBe(false);
    expect(result.restoration?.applied).toBe(false);
    expect(result.qc.map((w) => w.kind)).toEqual(['restoration-harms']);
    expect(Array.from(result.structures[0].volume.data)).toEqual(Array.from(targetData));
  });
});

describe('which restoration the examples ask for', () => {
  it('noise for a fine-grained change, bias-field for a smooth one, none (the model) for another task', async () => {
    const n = 32;
    const clean = phantom(n);
    const biased = clean.map((v, i) => v * (1 + 0.3 * ((i % n) / n - 0.5)));
    const noisy = rician(clean, 80, 5);
    const read = (input: Float32Array) => [{ name: 'e', read: async () => ({ input, target: clean, dims: cube(n) }) }];
    expect((await methodFromExamples(read(noisy))).method).toBe('nlm');
    expect((await methodFromExamples(read(biased))).method).toBe('bias-field');
    // Removing a whole tissue (as skull stripping removes the skull) is not a restoration.
    const stripped = [{ name: 'e', read: async () => ({ input: clean, target: clean.map((v) => (v === 2000 ? 0 : v)), dims: cube(n) }) }];
    expect((await methodFromExamples(stripped)).method).toBeNull();
  });
});

describe('neuroverse run --task generate (classical restoration)', () => {
  it('denoises by default when the examples are noisy pairs: the target grid, its units, the examples scored', async () => {
    const dir = tempDir('nv-restore-cli-');
    const n = 32;
    const context: string[] = [];
    for (const k of [1, 2]) {
      const input = join(dir, `noisy${k}.nii.gz`);
      const target = join(dir, `clean${k}.nii.gz`);
      await writeNifti(input, asVolume(rician(phantom(n, k), 80, 50 + k), n));
      await writeNifti(target, asVolume(phantom(n, k), n));
      context.push('--context', `${input},${target}`);
    }
    const clean = phantom(n);
    const noisy = rician(clean, 80, 60);
    const targetFile = join(dir, 'target.nii.gz');
    await writeNifti(targetFile, {
      ...asVolume(noisy, n),
      spacing: [0.9, 0.9, 1.2],
      affine: [
        [0.9, 0, 0, -14],
        [0, 0.9, 0, -14],
        [0, 0, 1.2, -19],
        [0, 0, 0, 1],
      ],
    });
    const out = join(dir, 'out.nii.gz');
    const r = neuroverse(['run', '--task', 'generate', '--target', targetFile, ...context, '--out', out, '--json'], { NEUROVERSE_DATA_DIR: join(dir, 'data') });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { method: string; restoration: { guard: { passed: boolean }; examples: unknown[] } };
    expect(report.method).toBe('nlm');
    expect(report.restoration.guard.passed).toBe(true);
    expect(report.restoration.examples).toHaveLength(2);
    const v = await readNifti(out);
    expect(v.dims.slice(0, 3)).toEqual([n, n, n]);
    v.spacing.slice(0, 3).forEach((s, i) => expect(s).toBeCloseTo([0.9, 0.9, 1.2][i], 5));
    const restored = Float32Array.from(v.data as ArrayLike<number>, (x) => x * v.slope + v.intercept);
    // Inside the head (outside it the input is kept).
    const head = Uint8Array.from(clean, (x) => (x > 0 ? 1 : 0));
    expect(maskedMse(restored, clean, head)).toBeLessThan(maskedMse(noisy, clean, head) / 2);
    expect(Math.max(...restored)).toBeGreaterThan(1500);
  });
});
