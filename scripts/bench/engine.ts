/**
 * Engine benchmarks (issue 3). Not a test: prints JSON lines / a markdown table for docs/benchmarks.md.
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/bench/engine.js vs-torch   --model DIR --ckpt FILE --grid G --contexts L [--rounds R] [--precisions fp32,int8]
 *   node dist-scripts/bench/engine.js compare    --model DIR --io FILE [--l N] [--precision fp32|int8]
 *   node dist-scripts/bench/engine.js sweep      --model DIR --grid G --Ls 1,2,4,8,16,32 --ls 1,2,4
 *   node dist-scripts/bench/engine.js structures --model DIR --grid G --contexts L --k K
 *   node dist-scripts/bench/engine.js one        --model DIR --grid G --contexts L --l N   (one fresh process)
 *   node dist-scripts/bench/engine.js export-weights --model DIR --out FILE.safetensors   (for vs-torch --ckpt: a package's
 *       weights read back from its graphs, so PyTorch can run a package whose checkpoint is gone)
 * `sweep` runs every configuration in its own process so peak RSS is that configuration's alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  ModelSessions,
  decode,
  encodeContext,
  encodeTarget,
  loadModelPackage,
  parseSafetensors,
  releaseEncoding,
  weightsFromGraphs,
} from '../../main/engine/index.js';
import type { Grid, GridPair, PairSource } from '../../main/engine/index.js';
import { noiseVolume } from './noise.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

function synthetic(grid: Grid, seed: number): Float32Array {
  return noiseVolume(grid[0] * grid[1] * grid[2], seed);
}

function pair(grid: Grid, i: number, labelSeed = 100 + i): GridPair {
  return { image: synthetic(grid, 10 + i), label: synthetic(grid, labelSeed).map((x) => (x > 0.7 ? 1 : 0)) };
}

/** Pairs made when their mini-context runs, as the CLI reads files, so the inputs do not grow with L either. */
function lazyPairs(grid: Grid, L: number, labelSeed = (i: number) => 100 + i): PairSource {
  return { count: L, load: async (i) => pair(grid, i, labelSeed(i)) };
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, (performance.now() - t) / 1000];
}

async function predict(s: ModelSessions, target: Float32Array, grid: Grid, pairs: PairSource, l: number): Promise<Float32Array> {
  const enc = await encodeTarget(s, target, grid);
  const out = await decode(s, enc, await encodeContext(s, enc, pairs, { miniContext: l }));
  releaseEncoding(enc);
  return out;
}

/** PyTorch arrays are z fastest; the engine's volumes x fastest. */
function xFastest(a: Float32Array, [nx, ny, nz]: Grid): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) for (let k = 0; k < nz; k++) out[i + nx * (j + ny * k)] = a[(i * ny + j) * nz + k];
  return out;
}

function peakRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

async function compare(): Promise<void> {
  const file = arg('io');
  const { tensors } = parseSafetensors(readFileSync(file), file);
  const t = tensors.get('target')!;
  const [gx, gy, gz] = t.dims.slice(1);
  const grid: Grid = [gx, gy, gz];
  const n = gx * gy * gz;
  const ci = tensors.get('ctx_img')!;
  const cl = tensors.get('ctx_lab')!;
  const x = (a: Float32Array) => xFastest(a, grid);
  const pairs = Array.from({ length: ci.dims[0] }, (_, i) => ({
    image: x(ci.data.subarray(i * n, (i + 1) * n)),
    label: x(cl.data.subarray(i * n, (i + 1) * n)),
  }));
  const precision = arg('precision', 'fp32') as 'fp32' | 'int8';
  const [s, load] = await timed(async () => ModelSessions.create(await loadModelPackage(arg('model')), 'cpu', precision));
  const l = Number(arg('l', '1'));
  const [, cold] = await timed(() => predict(s, x(t.data), grid, pairs, l));
  const [out, warm] = await timed(() => predict(s, x(t.data), grid, pairs, l));
  const ref = x(tensors.get('pred')!.data);
  let d = 0;
  let lo = Infinity;
  let hi = -Infinity;
  let se = 0;
  for (let i = 0; i < n; i++) {
    d = Math.max(d, Math.abs(out[i] - ref[i]));
    se += (out[i] - ref[i]) ** 2;
    lo = Math.min(lo, ref[i]);
    hi = Math.max(hi, ref[i]);
  }
  // PSNR against PyTorch's fp32 output over its range: how far this precision moves the prediction.
  const psnrVsTorch = 10 * Math.log10((hi - lo) ** 2 / (se / n));
  console.log(
    JSON.stringify({
      mode: 'compare',
      precision: s.choice.precision,
      grid: [gx, gy, gz],
      contexts: pairs.length,
      l,
      loadSeconds: load,
      coldSeconds: cold,
      warmSeconds: warm,
      maxAbsDiffVsTorch: d,
      outputRange: hi - lo,
      psnrVsTorch,
      peakRssMB: peakRssMB(),
    }),
  );
  await s.release();
}

async function one(): Promise<void> {
  const g = Number(arg('grid'));
  const grid: Grid = [g, g, g];
  const L = Number(arg('contexts'));
  const l = Number(arg('l'));
  const s = await ModelSessions.create(await loadModelPackage(arg('model')), 'cpu');
  const pairs = lazyPairs(grid, L);
  const target = synthetic(grid, 1);
  const [, seconds] = await timed(() => predict(s, target, grid, pairs, l));
  console.log(JSON.stringify({ mode: 'one', grid: g, contexts: L, l, seconds, peakRssMB: peakRssMB() }));
  await s.release();
}

function sweep(): void {
  const self = fileURLToPath(import.meta.url);
  const Ls = arg('Ls', '1,2,4,8,16,32').split(',').map(Number);
  const ls = arg('ls', '1,2,4').split(',').map(Number);
  const rows: { L: number; l: number; seconds: number; peakRssMB: number }[] = [];
  for (const l of ls) {
    for (const L of Ls) {
      if (l > L && L !== Ls[0]) continue;
      const r = spawnSync(process.execPath, [self, 'one', '--model', arg('model'), '--grid', arg('grid'), '--contexts', String(L), '--l', String(l)], {
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(r.stderr);
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
      rows.push({ L, l, seconds: j.seconds, peakRssMB: j.peakRssMB });
      console.log(JSON.stringify(j));
    }
  }
  console.log('\n| l | L | seconds | s per pair | peak RSS MB |\n|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.l} | ${r.L} | ${r.seconds.toFixed(1)} | ${(r.seconds / r.L).toFixed(2)} | ${r.peakRssMB} |`);
}

async function structures(): Promise<void> {
  const g = Number(arg('grid'));
  const grid: Grid = [g, g, g];
  const L = Number(arg('contexts'));
  const K = Number(arg('k'));
  const s = await ModelSessions.create(await loadModelPackage(arg('model')), 'cpu');
  const target = synthetic(grid, 1);
  const sets = Array.from({ length: K }, (_, k) => lazyPairs(grid, L, (i) => 1000 * k + i));
  await predict(s, target, grid, sets[0], 1); // warm-up
  const [, separate] = await timed(async () => {
    for (const pairs of sets) await predict(s, target, grid, pairs, 1);
  });
  const [, shared] = await timed(async () => {
    const enc = await encodeTarget(s, target, grid);
    for (const pairs of sets) await decode(s, enc, await encodeContext(s, enc, pairs, { miniContext: 1 }));
    releaseEncoding(enc);
  });
  console.log(
    JSON.stringify({ mode: 'structures', grid: g, contexts: L, k: K, separateSeconds: separate, sharedEncodingSeconds: shared, ratio: separate / shared }),
  );
  await s.release();
}

/**
 * PyTorch CPU forward (Debian torch, native-models/fixtures/make_engine_fixtures.py bench) and the ONNX
 * pipeline on the same weights and inputs, alternated `rounds` times so machine load hits both alike.
 */
function vsTorch(): void {
  const self = fileURLToPath(import.meta.url);
  // dist-scripts/bench/ is as deep in the repository as scripts/bench/.
  const script = fileURLToPath(new URL('../../native-models/fixtures/make_engine_fixtures.py', import.meta.url));
  if (!existsSync(script)) throw new Error(`${script} not found`);
  const io = `/tmp/bench-io-${process.pid}.safetensors`;
  const env = { ...process.env, MALLOC_MMAP_MAX_: '0', MALLOC_TRIM_THRESHOLD_: '68719476736' };
  const rows = [];
  for (let r = 0; r < Number(arg('rounds', '2')); r++) {
    const py = spawnSync('/usr/bin/python3', [script, 'bench', '--ckpt', arg('ckpt'), '--out', io, '--grid', arg('grid'), '--contexts', arg('contexts')], {
      env,
      encoding: 'utf8',
    });
    if (py.status !== 0) throw new Error(py.stderr);
    const torch = JSON.parse(py.stdout.trim().split('\n').pop()!);
    // Each precision in its own process, right after PyTorch's, so load hits all alike and RSS is its own.
    for (const precision of arg('precisions', 'fp32').split(',')) {
      const ort = spawnSync(process.execPath, [self, 'compare', '--model', arg('model'), '--io', io, '--l', '1', '--precision', precision], {
        encoding: 'utf8',
      });
      if (ort.status !== 0) throw new Error(ort.stderr);
      const onnx = JSON.parse(ort.stdout.trim().split('\n').pop()!);
      const row = {
        round: r + 1,
        precision,
        torchWarm: torch.warmSeconds,
        torchCold: torch.coldSeconds,
        onnxWarm: onnx.warmSeconds,
        onnxCold: onnx.coldSeconds,
        speedupWarm: torch.warmSeconds / onnx.warmSeconds,
        maxAbsDiff: onnx.maxAbsDiffVsTorch,
        outputRange: onnx.outputRange,
        psnrVsTorch: onnx.psnrVsTorch,
        onnxPeakRssMB: onnx.peakRssMB,
        load: loadavg()[0],
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}

/** safetensors (F32, bare keys) of the weights read back from a package's fp32 graphs. */
async function exportWeights(): Promise<void> {
  const pkg = await loadModelPackage(arg('model'));
  const sd = weightsFromGraphs(pkg.graphs, pkg.dir);
  const header: Record<string, { dtype: 'F32'; shape: number[]; data_offsets: [number, number] }> = {};
  let offset = 0;
  for (const [k, w] of sd) {
    header[k] = { dtype: 'F32', shape: w.dims, data_offsets: [offset, offset + w.data.byteLength] };
    offset += w.data.byteLength;
  }
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(arg('out'), Buffer.concat([len, h, ...[...sd.values()].map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength))]));
  console.log(JSON.stringify({ mode: 'export-weights', tensors: sd.size, out: arg('out') }));
}

const mode = process.argv[2];
console.error(`machine: ${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
if (mode === 'compare') await compare();
else if (mode === 'one') await one();
else if (mode === 'sweep') sweep();
else if (mode === 'structures') await structures();
else if (mode === 'vs-torch') vsTorch();
else if (mode === 'export-weights') await exportWeights();
else throw new Error('mode: vs-torch | compare | one | sweep | structures | export-weights');
