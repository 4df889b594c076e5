/** Entry of the model's compute worker (pipeline/model-runner.ts workerRunner). */
import { serveJobs } from '../compute/serve.js';
import { inferJob, type ModelJobs } from './model-runner.js';

serveJobs<ModelJobs>({ infer: inferJob });
