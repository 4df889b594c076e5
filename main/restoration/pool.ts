import { ComputePool, defaultPoolSize } from '../compute/pool.js';
import { workerScript } from '../compute/worker-script.js';
import type { RestorationJobs } from './runner.js';

/** Restoration workers, one per core as memory allows (a half-head slab of 256³ needs ~0.5 GB with four strengths). */
export function restorationPool(size = defaultPoolSize(1.0e9)): ComputePool<RestorationJobs> {
  return new ComputePool<RestorationJobs>(workerScript(import.meta.url, 'worker'), size);
}
