import type { ErrorPayload } from '../common/errors.js';

/** Messages between the compute pool (main thread) and its worker threads. Plain data: structured clone. */
export type ToWorker = { type: 'job'; id: number; kind: string; payload: unknown } | { type: 'cancel'; id: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; id: number; fraction: number | null; message: string }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: ErrorPayload };

/**
 * A handler runs one job inside a worker; `progress` posts a message to the pool, never throws. `signal` aborts
 * when the pool cancels a job by message (jobs whose native code must not be interrupted by terminating the
 * thread, e.g. ONNX Runtime); the handler checks it between its steps.
 */
export type JobHandler = (
  // Each handler declares its own payload type; `unknown` would not accept them (parameters are contravariant).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  payload: any,
  progress: (fraction: number | null, message: string) => void,
  signal: AbortSignal,
) => Promise<{ value: unknown; transfer?: ArrayBuffer[] }>;
