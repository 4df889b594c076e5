/** Entry of the registration compute workers (see compute/pool.ts). */
import { serveJobs } from '../compute/serve.js';
import { registerOnly, registerPair } from './register-pair.js';
import type { RegistrationJobs } from './registration-jobs.js';

serveJobs<RegistrationJobs>({ register: registerPair, transform: registerOnly });
