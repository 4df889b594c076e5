import { availableParallelism, freemem } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CancelledError, fromErrorPayload } from '../common/errors.js';
import type { FromWorker, JobTable, ToWorker } from './protocol.js';

export interface PoolJobOptions<P = unknown> {
  signal?: AbortSignal;
  onProgress?: (progress: P) => void;
  /** Buffers moved (not copied) to the worker; the caller must not use them afterwards. */
  transfer?: ArrayBuffer[];
  /**
   * How a running job is cancelled: by terminating its worker (default; WebAssembly cannot be interrupted), or
   * by a message that aborts the handler's signal, for native code that must not be killed mid-call (ONNX
   * Runtime aborts the process then). Either way the caller's promise rejects at once; by message, the worker
   * is reused once the handler has stopped.
   */
  cancelBy?: 'terminate' | 'message';
}

interface Pending {
  id: number;
  kind: string;
  payload: unknown;
  opts: PoolJobOptions<never>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  onAbort?: () => void;
  settled?: boolean;
}

interface Slot {
  worker: Worker;
  job: Pending | null;
  /** Called when the running job's worker answers (close() waits on it for jobs cancelled by message). */
  answered?: () => void;
}

/**
 * Worker threads for long compute (registration today): the event loop that serves the UI and the
 * API never runs it. Jobs queue when every worker is busy; a cancelled job's worker is terminated
 * (WebAssembly cannot be interrupted from outside) and replaced on demand; a worker that dies fails only
 * its own job and the pool carries on. Idle workers do not keep the process alive.
 */
export class ComputePool<T extends JobTable> {
  private readonly slots = new Set<Slot>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly script: URL,
    readonly size: number = defaultPoolSize(),
  ) {
    if (!(size >= 1)) throw new Error(`compute pool size must be at least 1 (got ${size})`);
  }

  /** One job of a kind the worker script serves: its payload, progress and result are that kind's. */
  run<K extends keyof T & string>(kind: K, payload: T[K]['payload'], opts: PoolJobOptions<T[K]['progress']> = {}): Promise<T[K]['result']> {
    if (this.closed) return Promise.reject(new Error('compute pool is closed'));
    if (opts.signal?.aborted) return Promise.reject(new CancelledError(kind));
    return new Promise<T[K]['result']>((resolve, reject) => {
      const job: Pending = { id: this.nextId++, kind, payload, opts: opts as PoolJobOptions<never>, resolve: resolve as (v: unknown) => void, reject };
      if (opts.signal) {
        job.onAbort = () => this.cancel(job);
        opts.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Busy and idle workers right now (for tests and the status line). */
  get workers(): number {
    return this.slots.size;
  }

  /**
   * Ends the workers that have no job; busy ones and the queue carry on, and later jobs start fresh workers. What an
   * idle worker still holds (the garbage of its last job: a registration worker's WebAssembly heaps, up to ~0.4 GB
   * at 256³) is then freed at once instead of sitting under the work that follows.
   */
  async releaseIdle(): Promise<void> {
    await Promise.all([...this.slots].filter((s) => s.job === null).map((s) => this.retire(s, null)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) this.settle(job, new Error('compute pool closed'));
    await Promise.all(
      [...this.slots].map(async (s) => {
        // A job that must not be terminated mid-call is asked to stop, and its worker ended once it has.
        if (s.job?.opts.cancelBy === 'message') {
          const answered = new Promise<void>((ok) => (s.answered = ok));
          this.settle(s.job, new Error('compute pool closed'));
          s.worker.postMessage({ type: 'cancel', id: s.job.id } satisfies ToWorker);
          await answered;
        }
        await this.retire(s, new Error('compute pool closed'));
      }),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = [...this.slots].find((s) => s.job === null);
      if (!slot) {
        if (this.slots.size >= this.size) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      const msg: ToWorker = { type: 'job', id: job.id, kind: job.kind, payload: job.payload };
      slot.worker.postMessage(msg, job.opts.transfer);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.script);
    const slot: Slot = { worker, job: null };
    worker.unref();
    worker.on('message', (m: FromWorker) => {
      const job = slot.job;
      if (m.type === 'ready' || !job || m.id !== job.id) return;
      if (m.type === 'progress') {
        try {
          job.opts.onProgress?.(m.progress as never);
        } catch (err) {
          // A caller's progress callback that throws (the job system's way of saying "cancelled") must not
          // escape this event handler, which would end the process: it cancels the job instead.
          this.cancel(job, err);
        }
        return;
      }
      slot.job = null;
      worker.unref();
      if (m.type === 'result') this.settle(job, null, m.value);
      else this.settle(job, fromErrorPayload(m.error));
      slot.answered?.();
      slot.answered = undefined;
      if (!this.closed) this.dispatch();
    });
    const died = (why: string) => {
      if (!this.slots.has(slot)) return;
      this.slots.delete(slot);
      if (slot.job) this.settle(slot.job, new Error(`compute worker for "${slot.job.kind}" stopped: ${why}`));
      slot.job = null;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (err) => died(err instanceof Error ? err.message : String(err)));
    worker.on('exit', (code) => died(`exit code ${code}`));
    this.slots.add(slot);
    return slot;
  }

  private cancel(job: Pending, reason: unknown = new CancelledError(job.kind)): void {
    const q = this.queue.indexOf(job);
    if (q >= 0) {
      this.queue.splice(q, 1);
      this.settle(job, reason);
      return;
    }
    const slot = [...this.slots].find((s) => s.job === job);
    if (slot) {
      this.settle(job, reason);
      if (job.opts.cancelBy === 'message') {
        // The slot stays busy until the handler answers (its result or error is then dropped).
        const msg: ToWorker = { type: 'cancel', id: job.id };
        slot.worker.postMessage(msg);
        return;
      }
      slot.job = null;
      void this.retire(slot, null).then(() => this.dispatch());
    }
  }

  private async retire(slot: Slot, err: Error | null): Promise<void> {
    this.slots.delete(slot);
    if (slot.job && err) this.settle(slot.job, err);
    slot.job = null;
    await slot.worker.terminate();
  }

  private settle(job: Pending, err: unknown, value?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (job.onAbort) job.opts.signal?.removeEventListener('abort', job.onAbort);
    job.onAbort = undefined;
    if (err) job.reject(err);
    else job.resolve(value);
  }
}

/**
 * One worker per core, fewer when memory is short: a registration worker peaks near 0.7 GB (measured on
 * 256³ heads), and two of them on a 2-core machine are what the time targets were measured with.
 */
export function defaultPoolSize(bytesPerWorker = 1.0e9): number {
  return Math.max(1, Math.min(availableParallelism(), Math.floor(freemem() / bytesPerWorker)));
}
