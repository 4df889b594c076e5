/**
 * Joint label fusion's parameters on the dev heads' aligned pairs (issue 24: "tune per structure if it pays,
 * measure, do not guess"): reuses the registrations that scripts/eval/fusion-loo.ts cached (alignPairs finds
 * them; nothing is registered when they are there), then fuses each structure with every parameter set given
 * and scores it against the target's aseg. Not a test. Appends one JSON row per (target, structure, set):
 *   node dist-scripts/eval/jlf-sweep.js --align affine --targets 01,02 --sets '[{"searchRadius":0},{"beta":1}]'
 *        [--work .tmp/fusion-loo] [--rows docs/results/jlf-sweep.jsonl]
 * Each set is merged over JLF_DEFAULTS and fused once; then each of `--trims` is scored: `{}` (the default) the
 * intensity trim as the app does it (its defaults, on the structures intensityTrimFor names), `null` no trim (the
 * fusion before it), an object its parameters over the defaults, with `"everywhere": true` on every structure; the vote of the same maps is scored beside it. `--pairs 3` fuses the first
 * three of the other heads (as fusion-loo.ts does). `--sides` adds the left and right hippocampus (aseg 17, 53) fused
 * one side at a time, as a batch with `--structure "left hippocampus"` runs them, with their volume and its error
 * against the target's aseg (issue 25's "within 15 %"); `--sides-only` fuses only those two (a quick volume sweep).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { INTENSITY_TRIM_DEFAULTS, intensityTrimFor, trimByIntensity } from '../../main/fusion/intensity-trim.js';
import type { IntensityTrimParams } from '../../main/fusion/intensity-trim.js';
import { jointFusion } from '../../main/fusion/methods.js';
import { JLF_DEFAULTS } from '../../main/fusion/jlf.js';
import type { JlfParams } from '../../main/fusion/jlf.js';
import { majorityVotes } from '../../main/fusion/vote.js';
import { realValues } from '../../main/engine/processing/intensity.js';
import { readNifti } from '../../main/imaging/index.js';
import { voxelVolumeMm3 } from '../../main/imaging/volume.js';
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
const SIDES: Record<string, number[]> = { 'left hippocampus': [17], 'right hippocampus': [53] };

async function main() {
  const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
  const align = arg('align', 'affine') as AlignMode;
  const targets = arg('targets', '01,02,03,04,05').split(',');
  const sets = JSON.parse(arg('sets', '[{}]')) as Partial<JlfParams>[];
  const trims = JSON.parse(arg('trims', '[{}]')) as ((Partial<IntensityTrimParams> & { everywhere?: boolean }) | null)[];
  const work = resolve(arg('work', join(projectRoot(), '.tmp', 'fusion-loo')));
  const rowsFile = resolve(arg('rows', join(projectRoot(), 'docs', 'results', 'jlf-sweep.jsonl')));
  const size = Number(arg('pairs', '4'));
  const sidesOnly = process.argv.includes('--sides-only');
  const names = [...(sidesOnly ? [] : FOUR), ...(sidesOnly || process.argv.includes('--sides') ? Object.keys(SIDES) : [])];
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
      const labels = names.map((n) => SIDES[n] ?? STRUCTURES[n]);
      const ml = voxelVolumeMm3(target.affine) / 1000;
      const targetValues = realValues(target);
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
        const dice = Math.round(((2 * ab) / (a + b)) * 10000) / 10000;
        if (!(names[k] in SIDES)) return { dice };
        // Volume of a side beside its FreeSurfer truth: what a batch reports.
        return { dice, ml: Math.round(a * ml * 1000) / 1000, truthMl: Math.round(b * ml * 1000) / 1000, errorPct: Math.round((a / b - 1) * 1000) / 10 };
      };
      const base = { target: t, align, pairs: size, at: new Date().toISOString() };
      for (let k = 0; k < names.length; k++)
        appendFileSync(rowsFile, `${JSON.stringify({ ...base, set: 'vote', structure: names[k], ...score(votes[k].mask, k) })}\n`);
      for (const set of sets) {
        const params = { ...JLF_DEFAULTS, ...set };
        const t0 = performance.now();
        // Fused once without the intensity trim; each trim of --trims is applied to a copy (as jointFusion does last).
        const untrimmed = await jointFusion(input, params, undefined, () => null);
        const seconds = Math.round((performance.now() - t0) / 100) / 10;
        for (const trim of trims) {
          // Where the app trims (intensityTrimFor), with these parameters; `everywhere`: every structure.
          const fused = untrimmed.map((f, k) => {
            const { everywhere, ...over } = trim ?? {};
            if (trim === null || !votes[k].box || !(everywhere || intensityTrimFor(labels[k]))) return f;
            const mask = f.mask.slice();
            trimByIntensity(targetValues, mask, f.doubt.slice(), votes[k].dims, votes[k].box!, { ...INTENSITY_TRIM_DEFAULTS, ...over });
            return { ...f, mask };
          });
          const name = JSON.stringify(trim === null ? { ...set, trim: null } : Object.keys(trim).length ? { ...set, trim } : set);
          for (let k = 0; k < names.length; k++) {
            const row = { ...base, set: name, structure: names[k], ...score(fused[k].mask, k), computed: fused[k].computed, seconds };
            appendFileSync(rowsFile, `${JSON.stringify(row)}\n`);
            console.error(JSON.stringify(row));
          }
        }
      }
    }
  } finally {
    await pool.close();
  }
  summary(rowsFile);
}

/**
 * Mean Dice per (alignment, pairs, set, structure) over the targets each row set has; with side rows, each target's
 * left/right volume error and the largest.
 */
function summary(file: string): void {
  type Row = { target: string; align: string; pairs?: number; set: string; structure: string; dice: number; errorPct?: number; seconds?: number };
  const rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Row);
  const latest = new Map<string, Row>();
  for (const r of rows) latest.set(`${r.target}|${r.align}|${r.pairs ?? 4}|${r.set}|${r.structure}`, r);
  const all = [...latest.values()];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const groups = [...new Set(all.map((r) => `${r.align}\u0000${r.pairs ?? 4}\u0000${r.set}`))];
  console.log(`| alignment | pairs | fusion | ${FOUR.join(' | ')} | mean of 4 | targets | s (4 structures) |`);
  console.log(`|---|---|---|${FOUR.map(() => '---').join('|')}|---|---|---|`);
  for (const key of groups) {
    const [align, pairs, set] = key.split('\u0000');
    const sel = all.filter((r) => r.align === align && String(r.pairs ?? 4) === pairs && r.set === set && FOUR.includes(r.structure));
    if (!sel.length) continue;
    const targets = [...new Set(sel.map((r) => r.target))].sort();
    const per = FOUR.map((n) => mean(sel.filter((r) => r.structure === n).map((r) => r.dice)));
    const secs = sel.filter((r) => r.seconds !== undefined).map((r) => r.seconds!);
    console.log(
      `| ${align} | ${pairs} | ${set} | ${per.map((x) => x.toFixed(3)).join(' | ')} | **${mean(per).toFixed(3)}** | ${targets.join(',')} | ${secs.length ? mean(secs).toFixed(1) : ''} |`,
    );
  }
  const sideRows = all.filter((r) => r.errorPct !== undefined);
  if (!sideRows.length) return;
  const heads = [...new Set(sideRows.map((r) => r.target))].sort();
  const signed = (x: number) => `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(x).toFixed(1)}`;
  console.log(
    `\nHippocampus volume error % vs aseg, left / right\n\n| alignment | pairs | fusion | ${heads.map((t) => `sub-${t}`).join(' | ')} | mean abs | max abs |`,
  );
  console.log(`|---|---|---|${heads.map(() => '---').join('|')}|---|---|`);
  for (const key of groups) {
    const [align, pairs, set] = key.split('\u0000');
    const sel = sideRows.filter((r) => r.align === align && String(r.pairs ?? 4) === pairs && r.set === set);
    if (!sel.length) continue;
    const err = (t: string, side: string) => sel.find((r) => r.target === t && r.structure === `${side} hippocampus`)?.errorPct;
    const cells = heads.map((t) => [err(t, 'left'), err(t, 'right')].map((e) => (e === undefined ? '—' : signed(e))).join(' / '));
    const abs = sel.map((r) => Math.abs(r.errorPct!));
    console.log(`| ${align} | ${pairs} | ${set} | ${cells.join(' | ')} | ${mean(abs).toFixed(1)} | ${Math.max(...abs).toFixed(1)} |`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
