import { randomUUID } from 'node:crypto';
import { CancelledError, toErrorPayload } from '../common/errors.js';
import type { ApiEvent } from './job-events.js';

export type ProgressFn = (stage: string, fraction: number | null, message: string) => void;

/**
 * Long operations (imports, conversions, inference) run as jobs: each gets an id the front end can
 * follow (progress events) and cancel (an AbortSignal the work checks between steps).
 */
export class Jobs {
  private readonly running = new Map<string, AbortController>();
  private readonly listeners = new Set<(e: ApiEvent) => void>();

  onEvent(listener: (e: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: ApiEvent): void {
    for (const l of this.listeners) l(e);
  }

  async run<T>(jobId: string | undefined, work: (progress: ProgressFn, signal: AbortSignal) => Promise<T>): Promise<T> {
    const id = jobId ?? randomUUID();
    const controller = new AbortController();
    this.running.set(id, controller);
    const progress: ProgressFn = (stage, fraction, message) => {
      if (controller.signal.aborted) throw new CancelledError(stage);
      this.emit({ type: 'progress', jobId: id, stage, fraction, message });
    };
    try {
      const result = await work(progress, controller.signal);
      this.emit({ type: 'job-done', jobId: id, ok: true });
      return result;
    } catch (err) {
      const e = controller.signal.aborted && !(err instanceof CancelledError) ? new CancelledError() : err;
      this.emit({ type: 'job-done', jobId: id, ok: false, error: toErrorPayload(e) });
      throw e;
    } finally {
      this.running.delete(id);
    }
  }

  cancel(jobId: string): boolean {
    const c = this.running.get(jobId);
    if (!c) return false;
    c.abort();
    return true;
  }
}
