import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import { cropBox, headMask, maskBox, pasteBox } from './head-mask.js';
import { applyFilter, fitFilter, type FilterSample, type LearnedFilter } from './learned-filter.js';
import { maskedMax } from './metrics.js';
import type { Dims3, NlmParams } from './nlm.js';
import { estimateNoise, estimateNoiseSigma, type NoiseEstimate } from './noise.js';
import type { RestorationRunner } from './runner.js';
import { judgeExamples, type ExamplePair, type ExampleScore, type GuardVerdict } from './guard.js';

/** 3³ patches, a 5³ search window: larger windows and patches scored lower on the dev heads (docs/restoration.md). */
export const PATCH_RADIUS = 1;
export const SEARCH_RADIUS = 2;
/** Voxels a result depends on around it: a partner's patch (2·search + patch) and the learned filter's 3³. */
const HALO = 2 * SEARCH_RADIUS + PATCH_RADIUS + 1;
/** Strengths tried on the examples, h = k·σ. */
export const STRENGTHS = [0.5, 0.65, 0.8, 1.0];
/** Strengths whose results feed the learned correction beside the chosen one. */
const EXTRAS = [0.5, 1.2, 1.8];
/** Cubes of the examples the strengths are scored on: enough voxels to rank them, far fewer than the heads. */
const CROPS_PER_EXAMPLE = 4;
const CROP = 32;

export interface DenoiseSettings {
  /** h = k·σ. */
  k: number;
  rician: boolean;
  /** The per-class linear correction learned from the examples (learned-filter.ts), when it helped them. */
  learned: boolean;
}

export interface DenoiseResult {
  output: Float32Array;
  noise: NoiseEstimate;
  settings: DenoiseSettings;
  /** Every variant tried, with its mean PSNR gain on the examples (dB). */
  candidates: { k: number; rician: boolean; learned: boolean; gainDb: number }[];
  examples: ExampleScore[];
  guard: GuardVerdict;
  seconds: { examples: number; target: number };
}

export interface DenoiseOptions {
  /** Skip the choice: these settings (the baseline), σ given or estimated. The examples are still scored for the guard. */
  fixed?: { k: number; rician: boolean; sigma?: number };
  signal?: AbortSignal;
  onProgress?: (fraction: number | null, message: string) => void;
}

/** The head and the noise of one image (restoration runs only near the head). */
export function headAndNoise(data: Float32Array, dims: Dims3): { mask: Uint8Array; noise: NoiseEstimate } {
  // A first mask to estimate the noise, then the mask again above the noise it found.
  const rough = headMask(data, dims, { sigma: estimateNoiseSigma(data, dims) });
  const noise = estimateNoise(data, dims, rough);
  return { mask: headMask(data, dims, { sigma: noise.sigma, dilate: 2 }), noise };
}

interface Crop {
  example: number;
  input: Float32Array;
  target: Float32Array;
  mask: Uint8Array;
  /** The crop's core inside the head: the voxels that are scored and learned from. */
  score: Uint8Array;
  dims: Dims3;
  sigma: number;
  peak: number;
}

/**
 * Non-local means whose strength (and Rician correction, and a learned correction) is chosen at run time from
 * the example (noisy, clean) pairs: each variant is run on cubes of the examples' heads and the one that
 * brings them closest to their clean images is applied to the target. The result keeps the target's grid and
 * intensity units; outside the head the input is kept.
 */
export async function denoiseInContext(
  target: Float32Array,
  dims: Dims3,
  examples: readonly ExamplePair[],
  runner: RestorationRunner,
  opts: DenoiseOptions = {},
): Promise<DenoiseResult> {
  const t0 = performance.now();
  if (examples.length === 0) throw new InputError(undefined, 'denoising learns its strength from examples: give at least one (noisy, clean) pair', 'usage');
  const report = opts.onProgress ?? (() => {});
  const crops: Crop[] = [];
  for (let e = 0; e < examples.length; e++) {
    opts.signal?.throwIfAborted();
    report(e / (examples.length + 2), `reading example ${examples[e].name}`);
    crops.push(...(await exampleCrops(examples[e], e)));
  }

  const ricians = opts.fixed ? [opts.fixed.rician] : [false, true];
  const ks = opts.fixed ? [opts.fixed.k] : [...new Set([...STRENGTHS, ...EXTRAS])];
  const params = (c: Crop): NlmParams[] => ricians.flatMap((rician) => ks.map((k) => ({ h: k * c.sigma, sub: 2 * c.sigma * c.sigma, rician })));
  report(examples.length / (examples.length + 2), `trying ${ricians.length * ks.length} strengths on ${crops.length} cubes of the examples`);
  const results = await Promise.all(
    crops.map((c) =>
      runner.nlm(
        { values: c.input, dims: c.dims, mask: c.mask, params: params(c), patchRadius: PATCH_RADIUS, searchRadius: SEARCH_RADIUS, sigma: c.sigma },
        opts.signal,
      ),
    ),
  );
  const at = (rician: boolean, k: number) => ricians.indexOf(rician) * ks.length + ks.indexOf(k);

  const candidates: DenoiseResult['candidates'] = [];
  let best = { k: ks[0], rician: ricians[0], learned: false, gainDb: -Infinity };
  let bestScores: ExampleScore[] = [];
  for (const rician of ricians)
    for (const k of opts.fixed ? ks : STRENGTHS) {
      const scores = judgeExamples(examples, crops, (c, j) => results[j][at(rician, k)]);
      const gainDb = meanGain(scores);
      candidates.push({ k, rician, learned: false, gainDb });
      if (gainDb > best.gainDb) {
        best = { k, rician, learned: false, gainDb };
        bestScores = scores;
      }
    }

  // The learned correction is judged leaving each example out of its own fit, so its gain is an honest one.
  let filter: LearnedFilter | null = null;
  if (!opts.fixed && examples.length >= 2) {
    const samples = crops.map<FilterSample>((c, j) => ({
      nlm: results[j][at(best.rician, best.k)],
      extra: EXTRAS.map((k) => results[j][at(best.rician, k)]),
      noisy: c.input,
      clean: c.target,
      dims: c.dims,
      sigma: c.sigma,
      mask: c.score,
    }));
    const heldOut = new Map<number, Float32Array>();
    for (let e = 0; e < examples.length; e++) {
      const f = fitFilter(samples.filter((_, j) => crops[j].example !== e));
      crops.forEach((c, j) => c.example === e && heldOut.set(j, applyFilter(f, samples[j])));
    }
    const scores = judgeExamples(examples, crops, (_, j) => heldOut.get(j)!);
    const gainDb = meanGain(scores);
    candidates.push({ k: best.k, rician: best.rician, learned: true, gainDb });
    if (gainDb > best.gainDb) {
      best = { ...best, learned: true, gainDb };
      bestScores = scores;
      filter = fitFilter(samples);
    }
  }
  const tExamples = (performance.now() - t0) / 1000;

  report(
    (examples.length + 1) / (examples.length + 2),
    `denoising the target (h = ${best.k}σ${best.rician ? ', Rician' : ''}${filter ? ', learned correction' : ''})`,
  );
  const t1 = performance.now();
  const { mask, noise: estimated } = headAndNoise(target, dims);
  const noise = opts.fixed?.sigma ? { sigma: opts.fixed.sigma, how: estimated.how } : estimated;
  const sigma = noise.sigma;
  const targetParams: NlmParams[] = [best.k, ...(filter ? EXTRAS : [])].map((k) => ({ h: k * sigma, sub: 2 * sigma * sigma, rician: best.rician }));
  const output = Float32Array.from(target);
  const box = maskBox(mask, dims, HALO);
  if (box && sigma > 0) {
    // Slabs along z, one per worker, each with the halo its results depend on.
    const [, , z0, , , z1] = box;
    const parts = Math.max(1, Math.min(runner.parallel, Math.floor((z1 - z0) / (4 * HALO))));
    const cuts = Array.from({ length: parts + 1 }, (_, p) => z0 + Math.round(((z1 - z0) * p) / parts));
    await Promise.all(
      cuts.slice(0, -1).map(async (za, p) => {
        const zb = cuts[p + 1];
        const ha = Math.max(z0, za - HALO);
        const hb = Math.min(z1, zb + HALO);
        const slab = [box[0], box[1], ha, box[3], box[4], hb];
        const sd: Dims3 = [box[3] - box[0], box[4] - box[1], hb - ha];
        const [out] = await runner.nlm(
          {
            values: cropBox(target, dims, slab),
            dims: sd,
            mask: cropBox(mask, dims, slab),
            params: targetParams,
            patchRadius: PATCH_RADIUS,
            searchRadius: SEARCH_RADIUS,
            sigma,
            filter: filter ?? undefined,
          },
          opts.signal,
        );
        const core = out.subarray((za - ha) * sd[0] * sd[1], (zb - ha) * sd[0] * sd[1]);
        pasteBox(output, dims, [box[0], box[1], za, box[3], box[4], zb], core);
      }),
    );
  }
  const settings = { k: best.k, rician: best.rician, learned: filter !== null };
  return {
    output,
    noise,
    settings,
    candidates,
    examples: bestScores,
    guard: verdictOf(bestScores, 'non-local means'),
    seconds: { examples: tExamples, target: (performance.now() - t1) / 1000 },
  };
}

function meanGain(scores: ExampleScore[]): number {
  return scores.reduce((s, e) => s + e.outputPsnr - e.inputPsnr, 0) / Math.max(1, scores.length);
}

export function verdictOf(scores: ExampleScore[], method: string): GuardVerdict {
  const worse = scores.filter((s) => !(s.outputPsnr > s.inputPsnr));
  return {
    passed: worse.length === 0,
    message:
      worse.length === 0
        ? `${method} brought every example closer to its target (PSNR gain ${scores.map((s) => (s.outputPsnr - s.inputPsnr).toFixed(2)).join(', ')} dB)`
        : `${method} made ${worse.length} of ${scores.length} examples worse than their input (${worse.map((s) => `${s.name}: ${(s.outputPsnr - s.inputPsnr).toFixed(2)} dB`).join(', ')})`,
  };
}

/** Cubes of one example spread over its head (the same places whatever the run: chosen from the mask only). */
async function exampleCrops(example: ExamplePair, index: number): Promise<Crop[]> {
  const { input, target, dims } = await example.read();
  const { mask, noise } = headAndNoise(input, dims);
  const peak = maskedMax(target, mask);
  const [nx, ny, nz] = dims;
  // Small images (tests, thin slabs) get smaller cubes.
  const size = Math.min(CROP, Math.min(nx, ny, nz) - 2 * HALO - 1);
  if (size < 8) throw new InputError(example.name, `the example image is too small to learn a restoration from (${nx}×${ny}×${nz})`);
  const half = Math.floor(size / 2);
  const span = 2 * half;
  const centres: number[] = [];
  const step = Math.max(2, Math.min(8, Math.floor(size / 4)));
  for (let z = half + HALO; z <= nz - half - HALO; z += step)
    for (let y = half + HALO; y <= ny - half - HALO; y += step)
      for (let x = half + HALO; x <= nx - half - HALO; x += step) if (mask[x + nx * (y + ny * z)]) centres.push(x + nx * (y + ny * z));
  if (centres.length === 0) throw new InputError(example.name, 'no head found in this example image to learn the restoration from');
  const crops: Crop[] = [];
  for (let c = 0; c < CROPS_PER_EXAMPLE; c++) {
    const i = centres[Math.floor(((c + 0.5) * centres.length) / CROPS_PER_EXAMPLE)];
    const x = i % nx;
    const y = Math.floor(i / nx) % ny;
    const z = Math.floor(i / (nx * ny));
    const box = [x - half - HALO, y - half - HALO, z - half - HALO, x + half + HALO, y + half + HALO, z + half + HALO];
    const cd: Dims3 = [span + 2 * HALO, span + 2 * HALO, span + 2 * HALO];
    const cm = cropBox(mask, dims, box);
    const score = new Uint8Array(cm.length);
    for (let zz = HALO; zz < HALO + span; zz++)
      for (let yy = HALO; yy < HALO + span; yy++)
        for (let xx = HALO; xx < HALO + span; xx++) {
          const j = xx + cd[0] * (yy + cd[1] * zz);
          score[j] = cm[j];
        }
    // A noiseless example (σ 0) still needs a finite strength scale.
    const sigma = Math.max(noise.sigma, 1e-3 * peak);
    crops.push({ example: index, input: cropBox(input, dims, box), target: cropBox(target, dims, box), mask: cm, score, dims: cd, sigma, peak });
  }
  return crops;
}
