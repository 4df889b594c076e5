import { parentPort } from 'node:worker_threads';
import { toErrorPayload } from '../common/errors.js';
import type { FromWorker, JobHandler, JobHandlers, JobSpec, JobTable, ToWorker } from './protocol.js';

/**
 * The worker side of the compute pool: runs one job at a time from a table of handlers. By default the pool
 * cancels a running job by terminating its thread (WebAssembly cannot be interrupted from inside), so
 * handlers need no checks of their own; jobs that must not be terminated mid-call (ONNX Runtime's native
 * code aborts the whole process) are cancelled by a message that aborts the handler's signal.
 */
export function serveJobs<T extends JobTable>(handlers: JobHandlers<T>): void {
  const port = parentPort;
  if (!port) throw new Error('serveJobs must run in a worker thread');
  const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
  const running = new Map<number, AbortController>();
  port.on('message', async (m: ToWorker) => {
    if (m.type === 'cancel') {
      running.get(m.id)?.abort();
      return;
    }
    if (m.type !== 'job') return;
    const handler = (handlers as unknown as Record<string, JobHandler<JobSpec> | undefined>)[m.kind];
    const controller = new AbortController();
    running.set(m.id, controller);
    try {
      if (!handler) throw new Error(`no compute handler for "${m.kind}"`);
      const { value, transfer } = await handler(m.payload, (progress) => post({ type: 'progress', id: m.id, progress }), controller.signal);
      post({ type: 'result', id: m.id, value }, transfer);
    } catch (err) {
      post({ type: 'error', id: m.id, error: toErrorPayload(err) });
    } finally {
      running.delete(m.id);
    }
  });
  post({ type: 'ready' });
}
