/**
 * Where the time of a model run goes, fp32 against int8 (issue 26: the official configuration's int8 graphs are
 * no faster at 128³). Not a test. Each precision runs in its own fresh process (one cold forward, then one warm
 * forward with ONNX Runtime's profiler on: target encoder, L context pairs one per mini-context, decoder); the
 * rounds alternate precisions so that machine load falls on both alike. Prints one JSON line per process and a
 * table of kernel time per operator type (summed over the three graphs, warm forward only).
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/bench/int8-profile.js --model DIR [--grid 128] [--contexts 3] [--rounds 1] [--precisions fp32,int8]
 *        [--out DIR]   (where the raw profiles are kept; default a temporary folder)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ModelSessions, decode, encodeContext, encodeTarget, loadModelPackage, releaseEncoding } from '../../main/engine/index.js';
import type { Grid, PairSource } from '../../main/engine/index.js';
import { noiseVolume } from './noise.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  ts: number;
  args?: { op_name?: string };
}

/** One process: a cold forward without profiling weight, then the warm one, whose node events are summed. */
async function child(precision: 'fp32' | 'int8', prefix: string): Promise<void> {
  const g = Number(arg('grid', '128'));
  const grid: Grid = [g, g, g];
  const L = Number(arg('contexts', '3'));
  const n = g * g * g;
  const pairs: PairSource = {
    count: L,
    load: async (i) => ({ image: noiseVolume(n, 10 + i), label: noiseVolume(n, 100 + i).map((x) => (x > 0.7 ? 1 : 0)) }),
  };
  const target = noiseVolume(n, 1);
  const s = await ModelSessions.create(await loadModelPackage(arg('model', '')), 'cpu', precision, { profilePrefix: prefix });
  const phases = async () => {
    const t0 = performance.now();
    const enc = await encodeTarget(s, target, grid);
    const t1 = performance.now();
    const means = await encodeContext(s, enc, pairs, { miniContext: 1 });
    const t2 = performance.now();
    await decode(s, enc, means);
    const t3 = performance.now();
    releaseEncoding(enc);
    return { encoder: (t1 - t0) / 1000, context: (t2 - t1) / 1000, decoder: (t3 - t2) / 1000 };
  };
  const cold = await phases();
  const warm = await phases();
  for (const sess of [s.encoder, s.context, s.decoder]) sess.endProfiling();
  await s.release();
  console.log(
    JSON.stringify({ precision: s.choice.precision, grid: g, contexts: L, cold, warm, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }),
  );
}

/** Kernel microseconds per operator type in the second (warm) run of each graph's profile. */
function kernelTimes(dir: string, prefix: string): Map<string, number> {
  const byOp = new Map<string, number>();
  for (const f of readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.json'))) {
    const events = JSON.parse(readFileSync(join(dir, f), 'utf8')) as ProfileEvent[];
    const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
    // The context graph runs once per pair in each forward: the warm forward is the second half of its runs.
    const warmFrom = runs[Math.floor(runs.length / 2)]?.ts ?? 0;
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < warmFrom) continue;
      const op = e.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
    }
  }
  return byOp;
}

function parent(): void {
  const self = fileURLToPath(import.meta.url);
  const out = arg('out', '') || mkdtempSync(join(tmpdir(), 'int8-profile-'));
  mkdirSync(out, { recursive: true });
  const precisions = arg('precisions', 'fp32,int8').split(',');
  const rounds = Number(arg('rounds', '1'));
  const totals = new Map<string, Map<string, number>>();
  for (let r = 0; r < rounds; r++) {
    for (const p of precisions) {
      const prefix = `r${r}-${p}`;
      // The child runs in the profile folder (ORT writes its profiles into the working directory).
      const res = spawnSync(process.execPath, [self, '--model', resolve(arg('model', '')), '--child', p, '--prefix', prefix, ...process.argv.slice(2)], {
        cwd: out,
        encoding: 'utf8',
      });
      if (res.status !== 0) throw new Error(res.stderr);
      const line = JSON.parse(res.stdout.trim().split('\n').pop()!);
      console.log(JSON.stringify({ ...line, round: r, load1: loadavg()[0], cpus: cpus().length, cpu: cpus()[0]?.model }));
      const t = totals.get(p) ?? new Map<string, number>();
      for (const [op, us] of kernelTimes(out, prefix)) t.set(op, (t.get(op) ?? 0) + us / rounds);
      totals.set(p, t);
    }
  }
  const ops = [...new Set([...totals.values()].flatMap((m) => [...m.keys()]))];
  const sum = (p: string) => [...(totals.get(p)?.values() ?? [])].reduce((a, b) => a + b, 0);
  ops.sort((a, b) => Math.max(...precisions.map((p) => totals.get(p)?.get(b) ?? 0)) - Math.max(...precisions.map((p) => totals.get(p)?.get(a) ?? 0)));
  console.log(`\nkernel seconds per operator type, warm forward (mean of ${rounds} round(s)); raw profiles in ${out}\n`);
  console.log(`| operator | ${precisions.map((p) => `${p} s (share)`).join(' | ')} |\n|---|${precisions.map(() => '---|').join('')}`);
  for (const op of ops) {
    const cells = precisions.map((p) => {
      const us = totals.get(p)?.get(op) ?? 0;
      return us ? `${(us / 1e6).toFixed(2)} (${((100 * us) / sum(p)).toFixed(0)} %)` : '—';
    });
    console.log(`| ${op} | ${cells.join(' | ')} |`);
  }
  console.log(`| all kernels | ${precisions.map((p) => (sum(p) / 1e6).toFixed(2)).join(' | ')} |`);
}

const c = process.argv.indexOf('--child');
if (c > 0) await child(process.argv[c + 1] as 'fp32' | 'int8', arg('prefix', 'profile'));
else parent();
