/**
 * Intracranial volume (pipeline/icv.ts) against the reference on the five real dev heads
 * (../shared/data/freesurfer-dev): the reference is the volume of FreeSurfer's brain mask (brainmask > 0, which
 * holds brain and the CSF around it). Two atlas sets: leave-one-out (the other four heads' brain masks) and the
 * bundled Colin27 alone (its skull-stripped T1, ch2bet, > 0). Not a test: prints a table and writes JSON.
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/eval/icv-dev-heads.js [--data DIR] [--align affine|deformable] [--out docs/results/icv-dev-heads.json]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/index.js';
import { estimateIcv } from '../../main/pipeline/icv.js';
import { RegistrationCache } from '../../main/registration/cache.js';
import { registrationPool } from '../../main/registration/pool.js';
import { projectRoot } from '../../main/settings/paths.js';
import { voxelVolumeMm3 } from '../../main/imaging/volume.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
const align = arg('align', 'affine') as 'affine' | 'deformable';
const out = arg('out', join(projectRoot(), 'docs', 'results', 'icv-dev-heads.json'));
const work = mkdtempSync(join(tmpdir(), 'nv-icv-'));

async function binaryMask(from: string, to: string): Promise<{ file: string; ml: number }> {
  const v = await readNifti(from);
  const d = new Uint8Array(v.data.length);
  let n = 0;
  for (let i = 0; i < d.length; i++)
    if (v.data[i] * v.slope + v.intercept !== 0) {
      d[i] = 1;
      n++;
    }
  const m: Volume = { ...v, data: d, slope: 1, intercept: 0, source: { kind: 'memory' } };
  await writeNifti(to, m, { intent: 'label' });
  return { file: to, ml: (n * voxelVolumeMm3(v.affine)) / 1000 };
}

const subjects = ['01', '02', '03', '04', '05'];
const masks = new Map<string, { file: string; ml: number }>();
for (const s of subjects) masks.set(s, await binaryMask(join(data, `sub-${s}_brainmask.nii.gz`), join(work, `sub-${s}_icv.nii.gz`)));
const colin = await binaryMask(join(projectRoot(), 'resources', 'sample', 'colin27_t1_brain.nii.gz'), join(work, 'colin27_icv.nii.gz'));
const colinAtlas = { imageFile: join(projectRoot(), 'resources', 'sample', 'colin27_t1.nii.gz'), labelFile: colin.file };

const pool = registrationPool(2);
const cache = new RegistrationCache(join(work, 'cache'));
interface Row {
  subject: string;
  referenceMl: number;
  leaveOneOut: { ml: number; errorPct: number; perAtlasMl?: number[]; seconds: number };
  colin27: { ml: number; errorPct: number; seconds: number };
}
const rows: Row[] = [];
try {
  for (const s of subjects) {
    const target = await readNifti(join(data, `sub-${s}_T1.nii.gz`));
    const truth = masks.get(s)!.ml;
    const atlases = subjects.filter((o) => o !== s).map((o) => ({ imageFile: join(data, `sub-${o}_T1.nii.gz`), labelFile: masks.get(o)!.file }));
    const t0 = Date.now();
    const loo = await estimateIcv({ pool, cache, target, atlases, align });
    const t1 = Date.now();
    const single = await estimateIcv({ pool, cache, target, atlases: [colinAtlas], align });
    const row: Row = {
      subject: `sub-${s}`,
      referenceMl: truth,
      leaveOneOut: { ml: loo.volumeMl, errorPct: ((loo.volumeMl - truth) / truth) * 100, perAtlasMl: loo.perAtlasMl, seconds: (t1 - t0) / 1000 },
      colin27: { ml: single.volumeMl, errorPct: ((single.volumeMl - truth) / truth) * 100, seconds: (Date.now() - t1) / 1000 },
    };
    rows.push(row);
    console.log(
      `${row.subject}: reference ${truth.toFixed(0)} mL; leave-one-out ${loo.volumeMl.toFixed(0)} mL (${row.leaveOneOut.errorPct.toFixed(1)} %, ${row.leaveOneOut.seconds.toFixed(0)} s); Colin27 ${single.volumeMl.toFixed(0)} mL (${row.colin27.errorPct.toFixed(1)} %)`,
    );
  }
} finally {
  await pool.close();
}
const summary = (k: 'leaveOneOut' | 'colin27') => {
  const e = rows.map((r) => Math.abs(r[k].errorPct));
  return {
    meanAbsErrorPct: e.reduce((a, b) => a + b, 0) / e.length,
    maxAbsErrorPct: Math.max(...e),
    meanSignedErrorPct: rows.reduce((a, r) => a + r[k].errorPct, 0) / rows.length,
  };
};
const result = {
  what: 'intracranial volume by majority vote of atlas masks registered to the target, against FreeSurfer brainmask > 0',
  align,
  when: new Date().toISOString(),
  colin27ReferenceMaskMl: colin.ml,
  rows,
  leaveOneOut: summary('leaveOneOut'),
  colin27: summary('colin27'),
};
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify({ leaveOneOut: result.leaveOneOut, colin27: result.colin27 }));
