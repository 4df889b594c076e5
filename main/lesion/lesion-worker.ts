/** Entry of the lesion compute worker (lesion-pool.ts): feature maps and tree fitting off the serving thread. */
import { serveJobs } from '../compute/serve.js';
import { lesionJob, type LesionJobs } from './lesion-job.js';

serveJobs<LesionJobs>({ lesion: lesionJob });
