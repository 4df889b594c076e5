/** Entry of the registration compute workers (see compute/pool.ts). */
import { serveJobs } from '../compute/serve.js';
import { dropPipelines } from './elastix-pipelines.js';
import { registerOnly, registerPair } from './register-pair.js';
import type { RegistrationJobs } from './registration-jobs.js';

/** A job's elastix instances serve its own calls only (elastix-pipelines.ts): an idle worker holds none. */
function ownInstances<A extends unknown[], R>(job: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
  return async (...a) => {
    try {
      return await job(...a);
    } finally {
      dropPipelines();
    }
  };
}

serveJobs<RegistrationJobs>({ register: ownInstances(registerPair), transform: ownInstances(registerOnly) });
