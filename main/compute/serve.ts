import { parentPort } from 'node:worker_threads';
import { toErrorPayload } from '../common/errors.js';
import type { FromWorker, JobHandler, ToWorker } from './protocol.js';

/**
 * The worker side of the compute pool: runs one job at a time from a table of handlers. A worker is
 * never interrupted from inside (WebAssembly and ONNX calls cannot be): the pool cancels a running job by
 * terminating its thread, so handlers need no cancellation checks of their own.
 */
export function serveJobs(handlers: Record<string, JobHandler>): void {
  const port = parentPort;
  if (!port) throw new Error('serveJobs must run in a worker thread');
  const post = (m: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);
  port.on('message', async (m: ToWorker) => {
    if (m.type !== 'job') return;
    const handler = handlers[m.kind];
    try {
      if (!handler) throw new Error(`no compute handler for "${m.kind}"`);
      const { value, transfer } = await handler(m.payload, (fraction, message) => post({ type: 'progress', id: m.id, fraction, message }));
      post({ type: 'result', id: m.id, value }, transfer);
    } catch (err) {
      post({ type: 'error', id: m.id, error: toErrorPayload(err) });
    }
  });
  post({ type: 'ready' });
}
