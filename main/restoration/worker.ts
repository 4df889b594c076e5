/** Entry of the restoration compute workers (restoration/pool.ts). */
import { serveJobs } from '../compute/serve.js';
import { runNlmJob, type NlmJob, type RestorationJobs } from './runner.js';

serveJobs<RestorationJobs>({
  nlm: async (job: NlmJob) => {
    const value = runNlmJob(job);
    return { value, transfer: value.map((a) => a.buffer as ArrayBuffer) };
  },
});
