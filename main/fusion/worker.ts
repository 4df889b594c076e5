/** Entry of the fusion compute workers (see compute/pool.ts). */
import { serveJobs } from '../compute/serve.js';
import { jlfJob } from './jlf-job.js';

serveJobs({ 'joint-label-fusion': jlfJob });
