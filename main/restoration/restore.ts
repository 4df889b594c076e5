import { correctBiasInContext } from './bias-field.js';
import { denoiseInContext, headAndNoise } from './denoise.js';
import type { ExamplePair, ExampleScore, GuardVerdict } from './guard.js';
import { estimateNoiseSigma } from './noise.js';
import type { Dims3 } from './nlm.js';
import type { RestorationRunner } from './runner.js';
import type { RestorationMethod } from './ids.js';

export type { RestorationMethod } from './ids.js';

export interface RestorationResult {
  output: Float32Array;
  method: RestorationMethod;
  /** Why this method (the user's, the task's name, or what the examples' differences look like). */
  why: string;
  /** What was chosen from the examples, for the report (strength, field degree, ...). */
  settings: Record<string, number | boolean | string>;
  examples: ExampleScore[];
  guard: GuardVerdict;
  seconds: { examples: number; target: number };
}

/**
 * What the examples' targets change of their inputs: fine-grained (noise: the change's voxel-to-voxel
 * variation is most of it), smooth (a field), or neither a restoration at all (skull stripping, a new
 * contrast: the change is as large as the head's intensities), then null. Measured on the first example as
 * target − input inside its head: its pseudo-residual σ (noise.ts) against its RMS, and its RMS against the
 * head's 99th percentile.
 */
export async function methodFromExamples(examples: readonly ExamplePair[]): Promise<{ method: RestorationMethod | null; why: string }> {
  const ex = await examples[0].read();
  const { mask } = headAndNoise(ex.input, ex.dims);
  const change = new Float32Array(ex.input.length);
  const inside: number[] = [];
  let sum = 0;
  let n = 0;
  for (let i = 0; i < change.length; i++) {
    change[i] = ex.target[i] - ex.input[i];
    if (mask[i]) {
      sum += change[i] * change[i];
      n++;
      if (n % 7 === 0) inside.push(ex.input[i]);
    }
  }
  inside.sort((a, b) => a - b);
  const p99 = inside[Math.floor(0.99 * (inside.length - 1))] ?? 0;
  const rms = Math.sqrt(sum / Math.max(1, n));
  if (!(p99 > 0) || rms > MAX_RESTORATION_CHANGE * p99)
    return { method: null, why: `the examples' change is not a restoration (RMS ${(rms / (p99 || 1)).toFixed(2)} of the head's 99th percentile)` };
  const fine = estimateNoiseSigma(change, ex.dims, mask);
  const share = rms > 0 ? fine / rms : 0;
  const method: RestorationMethod = share >= 0.5 ? 'nlm' : 'bias-field';
  return {
    method,
    why: `the examples' change is ${share >= 0.5 ? 'fine-grained (noise)' : 'smooth (a field)'}: voxel-to-voxel share ${share.toFixed(2)} of its RMS`,
  };
}

/** Above this RMS change (share of the head's 99th percentile) a generation task is not a restoration. */
const MAX_RESTORATION_CHANGE = 0.25;

export async function restoreInContext(
  method: RestorationMethod,
  why: string,
  target: Float32Array,
  dims: Dims3,
  examples: readonly ExamplePair[],
  runner: RestorationRunner,
  opts: { signal?: AbortSignal; onProgress?: (fraction: number | null, message: string) => void } = {},
): Promise<RestorationResult> {
  if (method === 'nlm') {
    const r = await denoiseInContext(target, dims, examples, runner, opts);
    return {
      output: r.output,
      method,
      why,
      settings: {
        k: r.settings.k,
        rician: r.settings.rician,
        learned: r.settings.learned,
        sigma: Math.round(r.noise.sigma * 1000) / 1000,
        sigmaFrom: r.noise.how,
      },
      examples: r.examples,
      guard: r.guard,
      seconds: r.seconds,
    };
  }
  const r = await correctBiasInContext(target, dims, examples, opts);
  return { output: r.output, method, why, settings: { field: r.fit, degree: r.degree }, examples: r.examples, guard: r.guard, seconds: r.seconds };
}
