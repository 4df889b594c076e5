/**
 * Volumetry end to end on the five real dev heads (../shared/data/freesurfer-dev), leave-one-out, through the CLI
 * as a user runs it: `neuroverse run` (atlas vote, the other four heads as context, hippocampus 17/53), then
 * `neuroverse report` (ICV from the other four heads' brain masks, CSV, HTML and PDF). Compares the hippocampal
 * volumes, their asymmetry and the ICV with FreeSurfer's (aseg, brainmask > 0). Not a test; writes JSON.
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/eval/volumetry-dev-heads.js [--data DIR] [--align affine|deformable] [--targets 01,02]
 *        [--out docs/results/volumetry-dev-heads.json]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import { voxelVolumeMm3 } from '../../main/imaging/volume.js';
import { projectRoot } from '../../main/settings/paths.js';

const exec = promisify(execFile);
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
const align = arg('align', 'affine');
const targets = arg('targets', '01,02,03,04,05').split(',');
const out = arg('out', join(projectRoot(), 'docs', 'results', 'volumetry-dev-heads.json'));
const work = join(projectRoot(), '.tmp', `volumetry-${align}`);
mkdirSync(work, { recursive: true });
const cli = join(projectRoot(), 'bin', 'neuroverse.js');
const all = ['01', '02', '03', '04', '05'];

async function truth(s: string): Promise<{ icvMl: number; left: number; right: number }> {
  const [a, b] = [await readNifti(join(data, `sub-${s}_aseg.nii.gz`)), await readNifti(join(data, `sub-${s}_brainmask.nii.gz`))];
  const mm3 = voxelVolumeMm3(a.affine) / 1000;
  let l = 0;
  let r = 0;
  let icv = 0;
  for (let i = 0; i < a.data.length; i++) {
    if (a.data[i] === 17) l++;
    if (a.data[i] === 53) r++;
    if (b.data[i] !== 0) icv++;
  }
  return { icvMl: icv * mm3, left: l * mm3, right: r * mm3 };
}

async function icvMask(s: string): Promise<string> {
  const file = join(work, `sub-${s}_icv.nii.gz`);
  const v = await readNifti(join(data, `sub-${s}_brainmask.nii.gz`));
  const d = new Uint8Array(v.data.length);
  for (let i = 0; i < d.length; i++) d[i] = v.data[i] !== 0 ? 1 : 0;
  await writeNifti(file, { ...v, data: d, slope: 1, intercept: 0, source: { kind: 'memory' } }, { intent: 'label', overwrite: true });
  return file;
}

const masks = Object.fromEntries(await Promise.all(all.map(async (s) => [s, await icvMask(s)] as const)));
const rows = [];
for (const s of targets) {
  const others = all.filter((o) => o !== s);
  const t1 = join(data, `sub-${s}_T1.nii.gz`);
  const seg = join(work, `sub-${s}_hippo.nii.gz`);
  const t0 = Date.now();
  // `run` writes a 0/1 mask of the union of its labels: one run per side (the second finds the registrations
  // cached), merged into one label map (17 left, 53 right) as a multi-structure run would give it.
  const runs: string[] = [];
  for (const label of ['17', '53']) {
    const part = join(work, `sub-${s}_${label}.nii.gz`);
    await rm(part, { force: true }); // `run` never replaces a file
    const runArgs = ['run', '--target', t1, '--out', part, '--label', label, '--align', align, '--method', 'vote', '--json'];
    for (const o of others) runArgs.push('--context', `${join(data, `sub-${o}_T1.nii.gz`)},${join(data, `sub-${o}_aseg.nii.gz`)}`);
    const run = await exec(process.execPath, [cli, ...runArgs], { maxBuffer: 64 << 20 }).catch((e) => e);
    if (!run.stdout) throw new Error(`run failed for sub-${s}: ${run.stderr}`);
    runs.push(run.stdout);
  }
  writeFileSync(join(work, `sub-${s}_run.json`), runs[1]);
  const [left, right] = [await readNifti(join(work, `sub-${s}_17.nii.gz`)), await readNifti(join(work, `sub-${s}_53.nii.gz`))];
  const merged = new Uint8Array(left.data.length);
  for (let i = 0; i < merged.length; i++) merged[i] = left.data[i] ? 17 : right.data[i] ? 53 : 0;
  await writeNifti(seg, { ...left, data: merged, slope: 1, intercept: 0, source: { kind: 'memory' } }, { intent: 'label', overwrite: true });
  const t1s = Date.now();
  const repArgs = ['report', '--target', t1, '--mask', seg, '--run', join(work, `sub-${s}_run.json`), '--out', join(work, `sub-${s}_report.html`)];
  repArgs.push('--pdf', join(work, `sub-${s}_report.pdf`), '--csv', join(work, `sub-${s}_volumes.csv`), '--force', '--json');
  for (const o of others) repArgs.push('--icv-atlas', `${join(data, `sub-${o}_T1.nii.gz`)},${masks[o]}`);
  const rep = JSON.parse((await exec(process.execPath, [cli, ...repArgs], { maxBuffer: 64 << 20 })).stdout);
  const tr = await truth(s);
  const byValue = new Map((rep.volumetry.rows as { value: number; volumeMl: number }[]).map((r) => [r.value, r.volumeMl]));
  const [l, r] = [byValue.get(17)!, byValue.get(53)!];
  const pct = (x: number, y: number) => ((x - y) / y) * 100;
  const ai = (a: number, b: number) => (Math.abs(a - b) / ((a + b) / 2)) * 100;
  const row = {
    subject: `sub-${s}`,
    hippocampus: {
      leftMl: l,
      rightMl: r,
      truthLeftMl: tr.left,
      truthRightMl: tr.right,
      leftErrorPct: pct(l, tr.left),
      rightErrorPct: pct(r, tr.right),
      asymmetry: ai(l, r),
      truthAsymmetry: ai(tr.left, tr.right),
    },
    icv: { ml: rep.volumetry.icv.volumeMl, truthMl: tr.icvMl, errorPct: pct(rep.volumetry.icv.volumeMl, tr.icvMl), perAtlasMl: rep.volumetry.icv.perAtlasMl },
    pdf: rep.pdf !== null,
    warnings: rep.warnings,
    seconds: { run: (t1s - t0) / 1000, report: (Date.now() - t1s) / 1000 },
  };
  rows.push(row);
  console.log(
    `${row.subject}: hippocampus L ${l.toFixed(2)} (truth ${tr.left.toFixed(2)}, ${row.hippocampus.leftErrorPct.toFixed(1)} %), R ${r.toFixed(2)} (truth ${tr.right.toFixed(2)}, ${row.hippocampus.rightErrorPct.toFixed(1)} %); ICV ${row.icv.ml.toFixed(0)} (truth ${tr.icvMl.toFixed(0)}, ${row.icv.errorPct.toFixed(1)} %); ${row.seconds.run.toFixed(0)} s + ${row.seconds.report.toFixed(0)} s`,
  );
}
const errs = rows.flatMap((r) => [r.hippocampus.leftErrorPct, r.hippocampus.rightErrorPct]).map(Math.abs);
const icvErrs = rows.map((r) => Math.abs(r.icv.errorPct));
const summary = {
  hippocampusMeanAbsErrorPct: errs.reduce((a, b) => a + b, 0) / errs.length,
  hippocampusMaxAbsErrorPct: Math.max(...errs),
  icvMeanAbsErrorPct: icvErrs.reduce((a, b) => a + b, 0) / icvErrs.length,
  icvMaxAbsErrorPct: Math.max(...icvErrs),
};
writeFileSync(out, JSON.stringify({ align, when: new Date().toISOString(), rows, summary }, null, 2) + '\n');
console.log(JSON.stringify(summary));
