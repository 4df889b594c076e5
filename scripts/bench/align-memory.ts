/**
 * Peak memory of an aligned run against its number of pairs (issue 10: 8 pairs at most 10 % above 2).
 * Not a test: prints one JSON line per run. Eight distinct pairs come from the four dev heads other than the
 * target and their left–right mirror images (the label maps mirrored with them; structures are unions of
 * both sides, so a mirrored pair is as good a context as any). Each run starts with an empty cache, so
 * every pair is registered. Build first (`npm run build:node`), then:
 *   node dist/scripts/bench-align-memory.js [--data DIR] [--align affine] [--method vote] [--Ls 2,8] [--mini-context N]
 * (model runs: give --mini-context, or "auto" picks l from free memory and may take all pairs at once)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readNifti, writeNifti } from '../main/imaging/index.js';
import type { Volume } from '../main/imaging/volume.js';
import { projectRoot } from '../main/settings/paths.js';

const run = promisify(execFile);
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

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
  const method = arg('method', 'vote');
  const Ls = arg('Ls', '2,8').split(',').map(Number);
  const miniContext = arg('mini-context', '');
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
    for (const L of Ls) {
      const dataDir = join(work, `data-${L}`);
      const argv = [
        join(projectRoot(), 'bin', 'neuroverse.js'),
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
        ...(miniContext ? ['--mini-context', miniContext] : []),
        '--out',
        join(work, `out-${L}.nii.gz`),
        '--json',
      ];
      const { stdout } = await run(process.execPath, argv, { env: { ...process.env, NEUROVERSE_DATA_DIR: dataDir }, maxBuffer: 1 << 24 });
      const r = JSON.parse(stdout.trim().split('\n').pop()!);
      console.log(
        JSON.stringify({
          L,
          align,
          method,
          miniContext: r.miniContext,
          peakRssMB: r.peakRssMB,
          seconds: r.seconds.total,
          alignSeconds: r.seconds.align,
          registered: r.registered,
          cpus: cpus().length,
          loadavg: loadavg(),
        }),
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
