/** Entry of the model's compute worker (pipeline/model-runner.ts workerRunner). */
import { serveJobs } from '../compute/serve.js';
import { inferJob } from './model-runner.js';

serveJobs({ infer: inferJob });
