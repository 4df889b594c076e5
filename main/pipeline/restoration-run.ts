import { performance } from 'node:perf_hooks';
import { basename } from 'node:path';
import { InputError } from '../common/errors.js';
import { realValues } from '../engine/processing/intensity.js';
import { readNifti } from '../imaging/nifti/read.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import type { ExamplePair, ExampleScore, GuardVerdict } from '../restoration/guard.js';
import type { Dims3 } from '../restoration/nlm.js';
import { methodFromExamples, restoreInContext, type RestorationMethod } from '../restoration/restore.js';
import { methodFromTaskName } from '../restoration/ids.js';
import type { PairFiles } from '../registration/types.js';
import { inlineRunner, poolRunner } from '../restoration/runner.js';
import type { PipelineResult, PipelineRun } from './run.js';

/** What a classical restoration run chose and how its examples fared, for the report and the Run panel. */
export interface RestorationOutcome {
  /** The classical method, or the model (generation in tiles, with the same guard). */
  method: RestorationMethod | 'model';
  why: string;
  settings: Record<string, number | boolean | string>;
  examples: ExampleScore[];
  guard: GuardVerdict;
  /** False when the default method failed the guard: the target is returned unchanged. */
  applied: boolean;
}

/** Context pairs of a generation task as restoration examples: the image is the input, the "label" the target. */
export function examplePairs(pairs: readonly PairFiles[], name: (i: number) => string = (i) => basename(pairs[i].imageFile)): ExamplePair[] {
  return pairs.map((p, i) => ({
    name: name(i),
    read: async () => {
      const input = await readNifti(p.imageFile);
      const target = await readNifti(p.labelFile);
      const a = spatialDims(input);
      const b = spatialDims(target);
      if (a.join() !== b.join())
        throw new InputError(p.labelFile, `the example's target (${b.join('×')}) must be on its input's grid (${a.join('×')}, ${p.imageFile})`);
      return { input: realValues(input), target: realValues(target), dims: a };
    },
  }));
}

/**
 * Which restoration a generation run with no method named should be: the set's task name says (denoise,
 * bias correction), or without a set the examples do (restoration/restore.ts); null: not a restoration, the model.
 */
export async function restorationFor(taskName: string | undefined, pairs: readonly PairFiles[]): Promise<{ method: RestorationMethod | null; why: string }> {
  if (taskName !== undefined) {
    const method = methodFromTaskName(taskName);
    return { method, why: `the task's name ("${taskName}")` };
  }
  if (pairs.length === 0) return { method: null, why: 'no examples' };
  return methodFromExamples(examplePairs(pairs.slice(0, 1)));
}

/**
 * A generation run by a classical restoration (restoration/): the example pairs are (input, target) images,
 * each on its own grid; the result is on the target's grid in its intensity units (float32). A default
 * method that makes its own examples worse returns the input unchanged with a QC warning; one the user asked
 * for returns its result with the warning.
 */
export async function runRestoration(run: PipelineRun, asked: RestorationMethod): Promise<PipelineResult> {
  const t0 = performance.now();
  const s = run.structures[0];
  const examples = examplePairs(s.pairs, (i) => run.pairName?.(s.pairs[i]) ?? basename(s.pairs[i].imageFile));
  if (run.checkPairsFirst) for (const e of examples) await e.read();
  const auto = run.restoration?.auto === true;
  const dims = spatialDims(run.target) as Dims3;
  const pool = run.restoration?.pool;
  const r = await restoreInContext(asked, run.restoration?.why ?? 'asked for', realValues(run.target), dims, examples, pool ? poolRunner(pool) : inlineRunner, {
    signal: run.signal,
    onProgress: (f, m) => run.onProgress?.({ stage: 'restore', fraction: f, step: f !== null && f >= 0.99 ? 'target' : 'examples', detail: m }),
  });
  const applied = r.guard.passed || !auto;
  const volume: Volume = {
    dims: [...dims],
    spacing: run.target.spacing.slice(0, 3),
    affine: run.target.affine.map((row) => [...row]),
    data: applied ? r.output : realValues(run.target),
    slope: 1,
    intercept: 0,
    description: applied ? `neuroverse ${r.method}` : 'neuroverse: input unchanged (restoration harmed the examples)',
    source: { kind: 'memory' },
    ...(run.target.xformCodes ? { xformCodes: { ...run.target.xformCodes } } : {}),
  };
  const qc = r.guard.passed
    ? []
    : [
        {
          kind: 'restoration-harms' as const,
          structure: 0,
          message: `${r.guard.message}; ${applied ? 'the result is written, but do not trust it' : 'the target is returned unchanged'}`,
        },
      ];
  const total = (performance.now() - t0) / 1000;
  return {
    method: r.method,
    align: 'none',
    structures: [
      { volume, task: s.task, contextSize: s.pairs.length, miniContext: null, baseline: null, uncertainty: null, contextChoice: null, pairs: s.pairs },
    ],
    alignment: null,
    // Learning from the examples is this run's "choose"; restoring the target its "postprocess".
    seconds: {
      align: 0,
      choose: r.seconds.examples,
      qc: 0,
      preprocess: Math.max(0, total - r.seconds.examples - r.seconds.target),
      targetEncoder: 0,
      context: 0,
      decoder: 0,
      vote: 0,
      postprocess: r.seconds.target,
    },
    choice: null,
    qc,
    restoration: { method: r.method, why: r.why, settings: r.settings, examples: r.examples, guard: r.guard, applied },
  };
}
