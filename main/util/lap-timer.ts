import { performance } from 'node:perf_hooks';

/** Seconds since the previous call (or since the timer was made): the phases of a run, one after the other. */
export function lapTimer(): () => number {
  let t = performance.now();
  return () => {
    const now = performance.now();
    const s = (now - t) / 1000;
    t = now;
    return s;
  };
}
