import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../main/api/errors.js';
import { ComputePool } from '../../main/compute/pool.js';
import type { StepProgress } from '../../main/compute/protocol.js';

const script = new URL('../fixtures/compute/test-worker.mjs', import.meta.url);

/** The fixture worker's jobs (tests/fixtures/compute/test-worker.mjs). */
type TestJobs = {
  echo: { payload: unknown; result: unknown; progress: StepProgress };
  sleep: { payload: number; result: number; progress: never };
  steps: { payload: number; result: number; progress: StepProgress };
  crash: { payload: null; result: never; progress: never };
  fail: { payload: null; result: never; progress: never };
};

describe('compute pool', () => {
  it('runs jobs in worker threads, at most `size` at once, with progress messages', async () => {
    const pool = new ComputePool<TestJobs>(script, 2);
    try {
      const seen: string[] = [];
      const r = await pool.run('echo', { a: 1 }, { onProgress: (p) => seen.push(`${p.fraction} ${p.message}`) });
      expect(r).toEqual({ a: 1 });
      expect(seen).toEqual(['0.5 half way']);
      const all = await Promise.all([1, 2, 3, 4].map((k) => pool.run('sleep', 50 * k)));
      expect(all).toEqual([50, 100, 150, 200]);
      expect(pool.workers).toBeLessThanOrEqual(2);
    } finally {
      await pool.close();
    }
  });

  it('a job cancelled by message stops at its next step, keeps its worker, and close() waits for it', async () => {
    const pool = new ComputePool<TestJobs>(script, 1);
    try {
      const ac = new AbortController();
      let steps = 0;
      const job = pool.run('steps', 1000, { signal: ac.signal, cancelBy: 'message', onProgress: () => steps++ });
      while (steps < 3) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      await expect(job).rejects.toBeInstanceOf(CancelledError);
      // A progress callback that throws cancels its job instead of escaping the pool's event handler.
      const thrown = pool.run('steps', 1000, {
        cancelBy: 'message',
        onProgress: () => {
          throw new CancelledError('by callback');
        },
      });
      await expect(thrown).rejects.toThrow(/by callback cancelled/);
      // The same worker serves the next job once the cancelled one has stopped (it was not terminated).
      expect(await pool.run('echo', 'next')).toBe('next');
      expect(pool.workers).toBe(1);
      // Closing while such a job runs: it is asked to stop first, then the worker ends.
      const running = pool.run('steps', 1000, { cancelBy: 'message' }).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 50));
      await pool.close();
      expect(String(await running)).toMatch(/compute pool closed/);
      expect(pool.workers).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('releaseIdle ends the idle workers only: a running job finishes, later jobs start fresh workers', async () => {
    const pool = new ComputePool<TestJobs>(script, 2);
    try {
      await Promise.all([pool.run('echo', 1), pool.run('echo', 2)]);
      expect(pool.workers).toBe(2);
      await pool.releaseIdle();
      expect(pool.workers).toBe(0);
      const running = pool.run('sleep', 200);
      await pool.run('echo', 'started');
      await pool.releaseIdle();
      expect(pool.workers).toBe(1);
      expect(await running).toBe(200);
      expect(await pool.run('echo', 'again')).toBe('again');
    } finally {
      await pool.close();
    }
  });

  it('a worker that dies fails only its own job; the pool recovers', async () => {
    const pool = new ComputePool<TestJobs>(script, 1);
    try {
      await expect(pool.run('crash', null)).rejects.toThrow(/compute worker for "crash" stopped/);
      await expect(pool.run('fail', null)).rejects.toThrow(/handler failed on purpose/);
      expect(await pool.run('echo', 'still here')).toBe('still here');
    } finally {
      await pool.close();
    }
  });

  it('cancel is a message: a queued job never starts, a running one is stopped and its worker replaced', async () => {
    const pool = new ComputePool<TestJobs>(script, 1);
    try {
      const running = new AbortController();
      const queued = new AbortController();
      const a = pool.run('sleep', 60_000, { signal: running.signal });
      const b = pool.run('sleep', 60_000, { signal: queued.signal });
      queued.abort();
      await expect(b).rejects.toBeInstanceOf(CancelledError);
      running.abort();
      await expect(a).rejects.toBeInstanceOf(CancelledError);
      expect(await pool.run('echo', 'next')).toBe('next');
    } finally {
      await pool.close();
    }
  });
});
