import { ComputePool } from '../compute/pool.js';
import { workerScript } from '../compute/worker-script.js';
import type { LesionJob } from './lesion-job.js';
import type { LesionRunResult } from './segment-lesions.js';

/**
 * One lesion worker: a run holds a few hundred MB of feature rows (four 240×240×155 examples with two channels) and
 * uses one core; a second run queues instead of doubling the memory.
 */
export function lesionPool(size = 1, script: URL = workerScript(import.meta.url, 'lesion-worker')): ComputePool {
  return new ComputePool(script, size);
}

/** A lesion run in `pool`'s worker; cancelling terminates the worker (pure JavaScript: nothing native to protect). */
export function runLesionsInWorker(
  pool: ComputePool,
  job: LesionJob,
  opts: { signal?: AbortSignal; onProgress?: (fraction: number | null, message: string) => void } = {},
): Promise<LesionRunResult> {
  return pool.run<LesionRunResult>('lesion', job, { signal: opts.signal, onProgress: opts.onProgress });
}
