/**
 * Joint label fusion's parameters on the dev heads' aligned pairs (issue 24: "tune per structure if it pays,
 * measure, do not guess"): reuses the registrations that scripts/eval/fusion-loo.ts cached (alignPairs finds
 * them; nothing is registered when they are there), then fuses each structure with every parameter set given
 * and scores it against the target's aseg. Not a test. Appends one JSON row per (target, structure, set):
 *   node dist-scripts/eval/jlf-sweep.js --align affine --targets 01,02 --sets '[{"searchRadius":0},{"beta":1}]'
 *        [--work .tmp/fusion-loo] [--rows docs/results/jlf-sweep.jsonl]
 * Each set is merged over JLF_DEFAULTS; the vote of the same maps is scored beside it.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { jointFusion } from '../../main/fusion/methods.js';
import { JLF_DEFAULTS } from '../../main/fusion/jlf.js';
import type { JlfParams } from '../../main/fusion/jlf.js';
import { majorityVotes } from '../../main/fusion/vote.js';
import { readNifti } from '../../main/imaging/index.js';
import { alignPairs, RegistrationCache, registrationPool } from '../../main/registration/index.js';
import type { AlignMode } from '../../main/registration/index.js';
import { projectRoot } from '../../main/settings/paths.js';
import { registrationCacheDir } from '../../main/settings/paths.js';
import { STRUCTURES } from './dev-heads.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const FOUR = ['hippocampus', 'thalamus', 'lateral ventricle', 'putamen'];

async function main() {
  const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
  const align = arg('align', 'affine') as AlignMode;
  const targets = arg('targets', '01,02,03,04,05').split(',');
  const sets = JSON.parse(arg('sets', '[{}]')) as Partial<JlfParams>[];
  const work = resolve(arg('work', join(projectRoot(), '.tmp', 'fusion-loo')));
  const rowsFile = resolve(arg('rows', join(projectRoot(), 'docs', 'results', 'jlf-sweep.jsonl')));
  const size = Number(arg('pairs', '4'));
  const pool = registrationPool();
  try {
    for (const t of targets) {
      const target = await readNifti(`${data}/sub-${t}_T1.nii.gz`);
      const truth = await readNifti(`${data}/sub-${t}_aseg.nii.gz`);
      const others = ['01', '02', '03', '04', '05'].filter((s) => s !== t).slice(0, size);
      const cache = new RegistrationCache(registrationCacheDir(join(work, `data-${align}-${t}`)));
      const aligned = await alignPairs({
        pool,
        cache,
        target,
        mode: align,
        kind: 'label',
        pairs: others.map((s) => ({ imageFile: `${data}/sub-${s}_T1.nii.gz`, labelFile: `${data}/sub-${s}_aseg.nii.gz` })),
        needImages: true,
      });
      if (aligned.registered > 0) console.error(`target ${t}: ${aligned.registered} pairs were not cached and were registered now`);
      const labels = FOUR.map((n) => STRUCTURES[n]);
      const votes = await majorityVotes(aligned.pairs.length, (i) => readNifti(aligned.pairs[i].labelFile), labels);
      const input = {
        target,
        pairs: aligned.pairs.map((p, i) => ({ imageFile: p.imageFile, labelFile: p.labelFile, name: `sub-${others[i]}` })),
        structures: labels.map((l, k) => ({ labels: l, vote: votes[k] })),
      };
      const score = (mask: Uint8Array, k: number) => {
        const want = new Set(labels[k]);
        let a = 0;
        let b = 0;
        let ab = 0;
        for (let i = 0; i < mask.length; i++) {
          const x = mask[i] > 0;
          const y = want.has(truth.data[i]);
          if (x) a++;
          if (y) b++;
          if (x && y) ab++;
        }
        return Math.round(((2 * ab) / (a + b)) * 10000) / 10000;
      };
      const base = { target: t, align, pairs: size, at: new Date().toISOString() };
      for (let k = 0; k < FOUR.length; k++)
        appendFileSync(rowsFile, `${JSON.stringify({ ...base, set: 'vote', structure: FOUR[k], dice: score(votes[k].mask, k) })}\n`);
      for (const set of sets) {
        const params = { ...JLF_DEFAULTS, ...set };
        const t0 = performance.now();
        const fused = await jointFusion(input, params);
        const seconds = Math.round((performance.now() - t0) / 100) / 10;
        for (let k = 0; k < FOUR.length; k++) {
          const row = { ...base, set: JSON.stringify(set), structure: FOUR[k], dice: score(fused[k].mask, k), computed: fused[k].computed, seconds };
          appendFileSync(rowsFile, `${JSON.stringify(row)}\n`);
          console.error(JSON.stringify(row));
        }
      }
    }
  } finally {
    await pool.close();
  }
  summary(rowsFile);
}

/** Mean Dice per (alignment, set, structure) over the targets each row set has. */
function summary(file: string): void {
  const rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { target: string; align: string; set: string; structure: string; dice: number; seconds?: number });
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) latest.set(`${r.target}|${r.align}|${r.set}|${r.structure}`, r);
  const all = [...latest.values()];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`| alignment | fusion | ${FOUR.join(' | ')} | mean of 4 | targets | s (4 structures) |`);
  console.log(`|---|---|${FOUR.map(() => '---').join('|')}|---|---|---|`);
  for (const key of [...new Set(all.map((r) => `${r.align}\u0000${r.set}`))]) {
    const [align, set] = key.split('\u0000');
    const sel = all.filter((r) => r.align === align && r.set === set);
    const targets = [...new Set(sel.map((r) => r.target))].sort();
    const per = FOUR.map((n) => mean(sel.filter((r) => r.structure === n).map((r) => r.dice)));
    const secs = sel.filter((r) => r.seconds !== undefined).map((r) => r.seconds!);
    console.log(
      `| ${align} | ${set} | ${per.map((x) => x.toFixed(3)).join(' | ')} | **${mean(per).toFixed(3)}** | ${targets.join(',')} | ${secs.length ? (mean(secs) / 1).toFixed(1) : ''} |`,
    );
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
