import { ComputePool, defaultPoolSize } from '../compute/pool.js';
import { workerScript } from '../compute/worker-script.js';
import type { RegistrationJobs } from './registration-jobs.js';

/** A pool of registration workers (one per core, as memory allows: ~0.7 GB each at 256³). */
export function registrationPool(size = defaultPoolSize(1.0e9)): ComputePool<RegistrationJobs> {
  return new ComputePool<RegistrationJobs>(workerScript(import.meta.url, 'worker'), size);
}
