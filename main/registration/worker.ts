/** Entry of the registration compute workers (see compute/pool.ts). */
import { serveJobs } from '../compute/serve.js';
import { registerOnly, registerPair } from './register-pair.js';

serveJobs({ register: registerPair, transform: registerOnly });
