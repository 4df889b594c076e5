import { ComputePool } from '../compute/pool.js';
import { workerScript } from '../compute/worker-script.js';
import type { LesionJob, LesionJobs } from './lesion-job.js';
import type { LesionRunResult } from './segment-lesions.js';

/**
 * One lesion worker: a run holds a few hundred MB of feature rows (four 240×240×155 examples with two channels) and
 * uses one core; a second run queues instead of doubling the memory.
 */
export function lesionPool(size = 1, script: URL = workerScript(import.meta.url, 'lesion-worker')): ComputePool<LesionJobs> {
  return new ComputePool<LesionJobs>(script, size);
}

/** A lesion run in `pool`'s worker; cancelling terminates the worker (pure JavaScript: nothing native to protect). */
export function runLesionsInWorker(
  pool: ComputePool<LesionJobs>,
  job: LesionJob,
  opts: { signal?: AbortSignal; onProgress?: (fraction: number | null, message: string) => void } = {},
): Promise<LesionRunResult> {
  return pool.run('lesion', job, { signal: opts.signal, onProgress: (p) => opts.onProgress?.(p.fraction, p.message) });
}
