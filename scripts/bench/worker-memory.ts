/**
 * Peak RSS of a process whose two compute workers run 2 or 8 jobs of three transformix calls each (itk-wasm
 * instantiates a WebAssembly module per call), with glibc's default malloc arenas and with MALLOC_ARENA_MAX=1:
 * which part of "peak memory grows with the pairs" (issue 26) is the workers' WebAssembly and which is the
 * allocator keeping freed memory per thread. Not a test; one JSON line per run, each in a fresh process:
 *   node dist-scripts/bench/worker-memory.js [--n 160] [--jobs 2,8] [--repeat 2] [--jobs-per-worker inf]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ComputePool } from '../../main/compute/pool.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

async function child(jobs: number, n: number) {
  const pool = new ComputePool(new URL('./transformix-worker.js', import.meta.url), 2);
  await Promise.all(Array.from({ length: jobs }, () => pool.run('warp', n)));
  await pool.close();
  console.log(Math.round(process.resourceUsage().maxRSS / 1024));
}

function main() {
  const n = Number(arg('n', '160'));
  for (let rep = 0; rep < Number(arg('repeat', '2')); rep++) {
    for (const arenas of ['default', '1']) {
      for (const jobs of arg('jobs', '2,8').split(',').map(Number)) {
        const env = { ...process.env, ...(arenas === 'default' ? {} : { MALLOC_ARENA_MAX: arenas }) };
        const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', String(jobs), '--n', String(n)], { env, encoding: 'utf8' });
        console.log(JSON.stringify({ n, jobs, mallocArenaMax: arenas, peakRssMB: Number(out.trim()), repeat: rep }));
      }
    }
  }
}

if (process.argv.includes('--child')) void child(Number(arg('child', '2')), Number(arg('n', '160')));
else main();
