/** Entry of the fusion compute workers (see compute/pool.ts). */
import { serveJobs } from '../compute/serve.js';
import { jlfJob, type FusionJobs } from './jlf-job.js';

serveJobs<FusionJobs>({ 'joint-label-fusion': jlfJob });
