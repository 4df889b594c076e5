/**
 * Peak memory of an aligned run against its number of pairs (issues 10 and 26: 8 pairs at most 10 % above 2,
 * with a fixed number of registration workers and a fixed mini-context). Not a test: prints one JSON line per
 * run. Eight distinct pairs come from the four dev heads other than the target and their left–right mirror
 * images (the label maps mirrored with them; structures are unions of both sides, so a mirrored pair is as good
 * a context as any). Each run starts with an empty data folder (so an empty registration cache: every pair is
 * registered). Several builds (project roots with bin/ and dist/) can be measured in one go, interleaved run by
 * run so that the machine's load falls on all of them alike. Build first (`npm run build:node`), then:
 *   node dist-scripts/bench/align-memory.js [--data DIR] [--align affine] [--method model] [--Ls 2,8]
 *        [--mini-context 2] [--workers 2] [--repeat 1] [--build before=/path/to/other/checkout] [--build after=.]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { projectRoot } from '../../main/settings/paths.js';

const run = promisify(execFile);
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
            '--align',
            align,
            '--method',
            method,
            '--workers',
            workers,
            ...(method === 'model' ? ['--mini-context', miniContext] : []),
            '--out',
            join(work, `out-${build.label}-${L}-${rep}.nii.gz`),
            '--json',
          ];
          const { stdout } = await run(process.execPath, argv, { cwd: build.root, env: { ...process.env, NEUROVERSE_DATA_DIR: dataDir }, maxBuffer: 1 << 24 });
          const r = JSON.parse(stdout.trim().split('\n').pop()!);
          rmSync(dataDir, { recursive: true, force: true });
          console.log(
            JSON.stringify({
              build: build.label,
              L,
              repeat: rep,
              align,
              method,
              workers: Number(workers),
              miniContext: r.miniContext,
              peakRssMB: r.peakRssMB,
              seconds: r.seconds.total,
              alignSeconds: r.seconds.align,
              registered: r.registered,
              cpus: cpus().length,
              cpu: cpus()[0]?.model,
              loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
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
