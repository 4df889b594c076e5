import { ComputePool, defaultPoolSize } from '../compute/pool.js';
import { workerScript } from '../compute/worker-script.js';

/**
 * A pool of registration workers (one per core, as memory allows: ~0.7 GB each at 256³). Each worker serves one
 * pair and is replaced: elastix and transformix instantiate a new WebAssembly module (and memory) per call, and a
 * worker that served many pairs held their memories until its collector ran, so the peak grew with the pairs.
 * Starting a worker costs well under a second against the seconds of one registration.
 */
export function registrationPool(size = defaultPoolSize(1.0e9)): ComputePool {
  return new ComputePool(workerScript(import.meta.url, 'worker'), size, 1);
}
