/**
 * Peak memory of an aligned run against its number of pairs (issues 10 and 26: 8 pairs at most 10 % above 2,
 * with a fixed number of registration workers and a fixed mini-context). Not a test: prints one JSON line per
 * run. Eight distinct pairs come from the four dev heads other than the target and their left–right mirror
 * images (the label maps mirrored with them; structures are unions of both sides, so a mirrored pair is as good
 * a context as any). Each run starts with an empty data folder (so an empty registration cache: every pair is
 * registered). Several builds (project roots with bin/ and dist/) can be measured in one go, interleaved run by
 * run so that the machine's load falls on all of them alike. `--method default` / `--align default` leave the
 * flag out (the run's own defaults); `outputHash` (of the result's voxels) tells whether builds agree; `--trace`
 * adds the process's RSS sampled every 0.2 s (the maximum of each second, MB) to see when the peak comes.
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/bench/align-memory.js [--data DIR] [--align affine] [--method model] [--Ls 2,8]
 *        [--mini-context 2] [--workers 2] [--repeat 1] [--build before=/path/to/other/checkout] [--build after=.] [--trace]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { projectRoot } from '../../main/settings/paths.js';

/** Runs `argv` with node; stdout, and with `trace` the RSS (MB) of the process, the maximum of each second. */
function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv, trace: boolean): Promise<{ stdout: string; rssMB: number[] }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const rssMB: number[] = [];
    const t0 = Date.now();
    const timer = trace
      ? setInterval(() => {
          try {
            const kB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
            const s = Math.floor((Date.now() - t0) / 1000);
            rssMB[s] = Math.max(rssMB[s] ?? 0, Math.round(kB / 1024));
          } catch {
            // The process has just ended.
          }
        }, 200)
      : null;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearInterval(timer);
      if (code === 0) resolveRun({ stdout, rssMB: Array.from(rssMB, (x) => x ?? 0) });
      else reject(new Error(`exit ${code}: ${stderr.trim()}`));
    });
  });
}

/** SHA-256 of a volume's voxels (not of the gzip file, whose header may differ). */
async function voxelHash(file: string): Promise<string> {
  const v = await readNifti(file);
  return createHash('sha256')
    .update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength))
    .digest('hex')
    .slice(0, 16);
}
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const args = (name: string): string[] => process.argv.flatMap((a, i) => (a === `--${name}` ? [process.argv[i + 1]] : []));

/** Voxels reversed along the first axis, geometry kept: the same head seen in a mirror. */
function mirrored(v: Volume): Volume {
  const [nx, ny, nz] = v.dims;
  const out = new (v.data.constructor as new (n: number) => typeof v.data)(v.data.length);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) out[i + nx * (j + ny * k)] = v.data[nx - 1 - i + nx * (j + ny * k)];
  return { ...v, data: out };
}

async function main() {
  const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
  const align = arg('align', 'affine');
  const method = arg('method', 'model');
  const Ls = arg('Ls', '2,8').split(',').map(Number);
  const miniContext = arg('mini-context', '2');
  const workers = arg('workers', '2');
  const repeat = Number(arg('repeat', '1'));
  const trace = process.argv.includes('--trace');
  const builds = (args('build').length ? args('build') : [`this=${projectRoot()}`]).map((b) => {
    const [label, root] = b.includes('=') ? [b.slice(0, b.indexOf('=')), b.slice(b.indexOf('=') + 1)] : [b, b];
    return { label, root: resolve(root) };
  });
  const work = mkdtempSync(join(tmpdir(), 'nv-mem-'));
  try {
    const pairs: string[] = [];
    for (const s of ['02', '03', '04', '05']) {
      const image = `${data}/sub-${s}_T1.nii.gz`;
      const label = `${data}/sub-${s}_aseg.nii.gz`;
      pairs.push(`${image},${label}`);
      const mi = join(work, `sub-${s}_T1_mirrored.nii.gz`);
      const ml = join(work, `sub-${s}_aseg_mirrored.nii.gz`);
      await writeNifti(mi, mirrored(await readNifti(image)));
      await writeNifti(ml, mirrored(await readNifti(label)));
      pairs.push(`${mi},${ml}`);
    }
    for (let rep = 0; rep < repeat; rep++) {
      for (const L of Ls) {
        for (const build of builds) {
          const dataDir = join(work, `data-${build.label}-${L}-${rep}`);
          const out = join(work, `out-${build.label}-${L}-${rep}.nii.gz`);
          const argv = [
            join(build.root, 'bin', 'neuroverse.js'),
            'run',
            '--target',
            `${data}/sub-01_T1.nii.gz`,
            ...pairs.slice(0, L).flatMap((p) => ['--context', p]),
            '--label',
            '17',
            '--label',
            '53',
            ...(align === 'default' ? [] : ['--align', align]),
            ...(method === 'default' ? [] : ['--method', method]),
            '--workers',
            workers,
            ...(method === 'model' ? ['--mini-context', miniContext] : []),
            '--out',
            out,
            '--json',
          ];
          const { stdout, rssMB } = await run(argv, build.root, { ...process.env, NEUROVERSE_DATA_DIR: dataDir }, trace);
          const r = JSON.parse(stdout.trim().split('\n').pop()!);
          rmSync(dataDir, { recursive: true, force: true });
          console.log(
            JSON.stringify({
              build: build.label,
              L,
              repeat: rep,
              // What the run used (the flags may have been left to its defaults).
              align: r.align,
              method: r.method,
              workers: Number(workers),
              miniContext: r.miniContext,
              peakRssMB: r.peakRssMB,
              seconds: r.seconds.total,
              alignSeconds: r.seconds.align,
              fuseSeconds: r.seconds.vote,
              registered: r.registered,
              outputHash: await voxelHash(out),
              cpus: cpus().length,
              cpu: cpus()[0]?.model,
              loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
              ...(trace ? { rssMB } : {}),
            }),
          );
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
