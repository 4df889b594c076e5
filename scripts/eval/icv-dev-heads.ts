/**
 * Intracranial volume (pipeline/icv.ts) against the reference on the five real dev heads
 * (../shared/data/freesurfer-dev): the reference is the volume of FreeSurfer's brain mask (brainmask > 0, which
 * holds brain and the CSF around it). Three atlas sets: leave-one-out (the other four heads' brain masks), the
 * bundled Colin27 alone (its skull-stripped T1, ch2bet, > 0) and the bundled starter library's heads (their aseg
 * label maps > 0: brain and the CSF around it, the default of `batch` and the app). Not a test: prints a table and
 * writes JSON.
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/eval/icv-dev-heads.js [--data DIR] [--align affine|deformable] [--sets leaveOneOut,colin27,starter] [--targets 01,02,...]
 *        [--cache DIR]
 *        [--out docs/results/icv-dev-heads.json]
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
import { STARTER_ICV_SCALE, starterIcvAtlases } from '../../main/library/starter.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
const align = arg('align', 'affine') as 'affine' | 'deformable';
const out = arg('out', join(projectRoot(), 'docs', 'results', 'icv-dev-heads.json'));
const sets = new Set(arg('sets', 'leaveOneOut,colin27,starter').split(','));
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
const targets = arg('targets', subjects.join(',')).split(',');
const masks = new Map<string, { file: string; ml: number }>();
for (const s of subjects) masks.set(s, await binaryMask(join(data, `sub-${s}_brainmask.nii.gz`), join(work, `sub-${s}_icv.nii.gz`)));
const colin = await binaryMask(join(projectRoot(), 'resources', 'sample', 'colin27_t1_brain.nii.gz'), join(work, 'colin27_icv.nii.gz'));
const colinAtlas = { imageFile: join(projectRoot(), 'resources', 'sample', 'colin27_t1.nii.gz'), labelFile: colin.file };
// Uncalibrated here (scale 1): the calibration is computed below, leave-one-out and as shipped.
const starterAtlases = starterIcvAtlases(join(projectRoot(), 'resources'), {}).atlases;

const pool = registrationPool(2);
// A cache of an earlier run of this script (its registrations are keyed by content) makes a rerun a matter of seconds.
const cache = new RegistrationCache(arg('cache', join(work, 'cache')));
interface Row {
  subject: string;
  referenceMl: number;
  leaveOneOut?: Estimate;
  colin27?: Estimate;
  starter?: Estimate;
}
interface Estimate {
  ml: number;
  errorPct: number;
  perAtlasMl?: number[];
  seconds: number;
}
const rows: Row[] = [];
try {
  for (const s of targets) {
    const target = await readNifti(join(data, `sub-${s}_T1.nii.gz`));
    const truth = masks.get(s)!.ml;
    const atlases = subjects.filter((o) => o !== s).map((o) => ({ imageFile: join(data, `sub-${o}_T1.nii.gz`), labelFile: masks.get(o)!.file }));
    const estimate = async (atlases: { imageFile: string; labelFile: string }[]): Promise<Estimate> => {
      const t0 = Date.now();
      const r = await estimateIcv({ pool, cache, target, atlases, align });
      return { ml: r.volumeMl, errorPct: ((r.volumeMl - truth) / truth) * 100, perAtlasMl: r.perAtlasMl, seconds: (Date.now() - t0) / 1000 };
    };
    const row: Row = { subject: `sub-${s}`, referenceMl: truth };
    if (sets.has('leaveOneOut')) row.leaveOneOut = await estimate(atlases);
    if (sets.has('colin27')) row.colin27 = await estimate([colinAtlas]);
    if (sets.has('starter')) row.starter = await estimate(starterAtlases);
    rows.push(row);
    const part = (k: 'leaveOneOut' | 'colin27' | 'starter') => {
      const e = row[k];
      return e ? `; ${k} ${e.ml.toFixed(0)} mL (${e.errorPct.toFixed(1)} %, ${e.seconds.toFixed(0)} s)` : '';
    };
    console.log(`${row.subject}: reference ${truth.toFixed(0)} mL${part('leaveOneOut')}${part('colin27')}${part('starter')}`);
  }
} finally {
  await pool.close();
}
const summary = (k: 'leaveOneOut' | 'colin27' | 'starter') => {
  const signed = rows.flatMap((r) => (r[k] ? [r[k].errorPct] : []));
  if (signed.length === 0) return null;
  const e = signed.map(Math.abs);
  return {
    meanAbsErrorPct: e.reduce((a, b) => a + b, 0) / e.length,
    maxAbsErrorPct: Math.max(...e),
    meanSignedErrorPct: signed.reduce((a, b) => a + b, 0) / signed.length,
  };
};
// The starter heads' calibration (library/starter.ts STARTER_ICV_SCALE): as shipped (fitted on these same heads), and
// leave-one-out (each head's factor fitted on the other heads only), the honest figure for a new head.
const starterRows = rows.filter((r) => r.starter);
const calibrated = starterRows.map((r) => {
  const others = starterRows.filter((o) => o !== r);
  const k = others.length ? others.reduce((a, o) => a + o.referenceMl / o.starter!.ml, 0) / others.length : NaN;
  return {
    subject: r.subject,
    shippedPct: ((r.starter!.ml * STARTER_ICV_SCALE) / r.referenceMl - 1) * 100,
    leaveOneOutScale: k,
    leaveOneOutPct: ((r.starter!.ml * k) / r.referenceMl - 1) * 100,
  };
});
const absStats = (xs: number[]) => ({
  meanAbsErrorPct: xs.reduce((a, b) => a + Math.abs(b), 0) / xs.length,
  maxAbsErrorPct: Math.max(...xs.map(Math.abs)),
  meanSignedErrorPct: xs.reduce((a, b) => a + b, 0) / xs.length,
});
const result = {
  what: 'intracranial volume by majority vote of atlas masks registered to the target, against FreeSurfer brainmask > 0',
  align,
  when: new Date().toISOString(),
  colin27ReferenceMaskMl: colin.ml,
  rows,
  leaveOneOut: summary('leaveOneOut'),
  colin27: summary('colin27'),
  starter: summary('starter'),
  starterScaleShipped: STARTER_ICV_SCALE,
  starterMeanRatio: starterRows.length ? starterRows.reduce((a, r) => a + r.referenceMl / r.starter!.ml, 0) / starterRows.length : null,
  starterCalibrated: calibrated,
  starterShipped: calibrated.length ? absStats(calibrated.map((c) => c.shippedPct)) : null,
  starterLeaveOneOut: calibrated.length > 1 ? absStats(calibrated.map((c) => c.leaveOneOutPct)) : null,
  starterAtlases: starterAtlases.map((a) => a.imageFile),
};
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(
  JSON.stringify({
    leaveOneOut: result.leaveOneOut,
    colin27: result.colin27,
    starter: result.starter,
    starterShipped: result.starterShipped,
    starterLeaveOneOut: result.starterLeaveOneOut,
    starterMeanRatio: result.starterMeanRatio,
  }),
);
for (const c of calibrated)
  console.log(
    `${c.subject}: starter × ${STARTER_ICV_SCALE} ${c.shippedPct.toFixed(1)} %; × ${c.leaveOneOutScale.toFixed(3)} (other heads) ${c.leaveOneOutPct.toFixed(1)} %`,
  );
