import type { ComputePool } from '../compute/pool.js';
import type { LearnedFilter } from './learned-filter.js';
import { applyFilter } from './learned-filter.js';
import type { Dims3, NlmParams } from './nlm.js';
import { nlmFilter } from './nlm.js';

/** One piece of restoration work, plain data so that it can cross to a compute worker. */
export interface NlmJob {
  values: Float32Array;
  /** Patch distances read from this image; `values` when absent. */
  guide?: Float32Array;
  dims: Dims3;
  mask: Uint8Array;
  params: NlmParams[];
  patchRadius: number;
  searchRadius: number;
  sigma: number;
  /** Apply this filter to the first result (the others are its extra inputs) and return only that. */
  filter?: LearnedFilter;
}

/** Runs the job here; the compute worker's handler calls the same. */
export function runNlmJob(job: NlmJob): Float32Array[] {
  const outs = nlmFilter(job.values, job.guide ?? job.values, job.dims, job.params, {
    patchRadius: job.patchRadius,
    searchRadius: job.searchRadius,
    sigma: job.sigma,
    mask: job.mask,
  });
  if (!job.filter) return outs;
  return [applyFilter(job.filter, { nlm: outs[0], extra: outs.slice(1), noisy: job.values, dims: job.dims, sigma: job.sigma, mask: job.mask })];
}

/** Where restoration jobs run: in this thread (tests) or on a pool of compute workers (the app, the CLI). */
export interface RestorationRunner {
  readonly parallel: number;
  nlm(job: NlmJob, signal?: AbortSignal): Promise<Float32Array[]>;
}

export const inlineRunner: RestorationRunner = {
  parallel: 1,
  nlm: async (job, signal) => {
    signal?.throwIfAborted();
    return runNlmJob(job);
  },
};

/** The job kinds of the restoration workers (restoration/worker.ts). */
export type RestorationJobs = { nlm: { payload: NlmJob; result: Float32Array[]; progress: never } };

export function poolRunner(pool: ComputePool<RestorationJobs>): RestorationRunner {
  return {
    parallel: pool.size,
    // Copies, not transfers: the caller keeps its arrays (the examples' crops are reused across jobs).
    nlm: (job, signal) => pool.run('nlm', job, { signal }),
  };
}
