import type { ErrorPayload } from '../common/errors.js';

/** One kind of compute job: what goes in, what comes back, and what it reports on the way. */
export interface JobSpec {
  payload: unknown;
  result: unknown;
  progress: unknown;
}

/** The job kinds one worker script serves, by name. Each owner (imaging, engine, registration) declares its own. */
export type JobTable = Record<string, JobSpec>;

/** Progress of jobs that only have words and a fraction to report (registration, the tests' workers). */
export interface StepProgress {
  fraction: number | null;
  message: string;
}

/** Messages between the compute pool (main thread) and its worker threads. Plain data: structured clone. */
export type ToWorker = { type: 'job'; id: number; kind: string; payload: unknown } | { type: 'cancel'; id: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; id: number; progress: unknown }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: ErrorPayload };

/**
 * A handler runs one job inside a worker; `progress` posts its report to the pool, never throws. `signal` aborts
 * when the pool cancels a job by message (jobs whose native code must not be interrupted by terminating the
 * thread, e.g. ONNX Runtime); the handler checks it between its steps.
 */
export type JobHandler<S extends JobSpec> = (
  payload: S['payload'],
  progress: (p: S['progress']) => void,
  signal: AbortSignal,
) => Promise<{ value: S['result']; transfer?: ArrayBuffer[] }>;

export type JobHandlers<T extends JobTable> = { [K in keyof T]: JobHandler<T[K]> };
