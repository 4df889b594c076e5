/**
 * Joint label fusion's settings on the starter library (issue 24): each dev head is the target, the bundled
 * starter set its only context, as a run with no context does it (all pairs aligned affinely, the best
 * STARTER_CONTEXT_SIZE per structure chosen by rankContext, then fused), but in one process that fuses the same
 * aligned pairs with every parameter set given, so settings are compared on the same registrations. Not a test.
 * The registrations are cached under --work (a second pass registers nothing). Appends one JSON row per
 * (target, structure, set) with Dice and the volumes of result and truth:
 *   node dist-scripts/eval/starter-sweep.js --targets 01,02 --sets '[{},{"match":"shift"}]'
 *        [--starter resources/starter-library] [--work .tmp/starter-sweep] [--rows docs/results/starter-sweep.jsonl]
 * Each set is merged over JLF_DEFAULTS ({"synthetic": true}: the settings a run on the starter set uses); the vote of
 * the same chosen pairs is scored beside it.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { JLF_DEFAULTS } from '../../main/fusion/jlf.js';
import type { JlfParams } from '../../main/fusion/jlf.js';
import { FUSION_METHODS, jointFusion } from '../../main/fusion/methods.js';
import { majorityVotes } from '../../main/fusion/vote.js';
import { readNifti } from '../../main/imaging/index.js';
import { readStarterManifest, STARTER_CONTEXT_SIZE } from '../../main/library/starter.js';
import { rankContext } from '../../main/pipeline/context-choice.js';
import { alignPairs, RegistrationCache, registrationPool } from '../../main/registration/index.js';
import { projectRoot, registrationCacheDir } from '../../main/settings/paths.js';
import { STRUCTURES } from './dev-heads.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const FOUR = ['hippocampus', 'thalamus', 'lateral ventricle', 'putamen'];

async function main() {
  const root = projectRoot();
  const data = resolve(arg('data', join(root, '..', 'shared', 'data', 'freesurfer-dev')));
  const starter = resolve(arg('starter', join(root, 'resources', 'starter-library')));
  const targets = arg('targets', '01,02,03,04,05').split(',');
  const sets = JSON.parse(arg('sets', '[{}]')) as (Partial<JlfParams> & { synthetic?: boolean })[];
  const work = resolve(arg('work', join(root, '.tmp', 'starter-sweep')));
  const rowsFile = resolve(arg('rows', join(root, 'docs', 'results', 'starter-sweep.jsonl')));
  const n = Number(arg('n', String(STARTER_CONTEXT_SIZE)));
  const manifest = readStarterManifest(starter);
  if (!manifest) throw new Error(`${starter}: no starter manifest`);
  const candidates = manifest.pairs.map((p) => ({ imageFile: join(starter, p.image), labelFile: join(starter, p.label) }));
  const pool = registrationPool();
  try {
    for (const t of targets) {
      const target = await readNifti(`${data}/sub-${t}_T1.nii.gz`);
      const truth = await readNifti(`${data}/sub-${t}_aseg.nii.gz`);
      const voxelMl = target.spacing.slice(0, 3).reduce((a, b) => a * b, 1) / 1000;
      // The cache is keyed by the starter's file hashes: a re-rendered set registers again.
      const cache = new RegistrationCache(registrationCacheDir(join(work, `data-${t}`)));
      const t0 = performance.now();
      const aligned = await alignPairs({ pool, cache, target, mode: 'affine', kind: 'label', pairs: candidates, needImages: true });
      const alignSeconds = Math.round((performance.now() - t0) / 100) / 10;
      const labels = FOUR.map((s) => STRUCTURES[s]);
      const choices = await rankContext(
        target,
        { count: candidates.length, readImage: (i) => readNifti(aligned.pairs[i].imageFile), readLabel: (i) => readNifti(aligned.pairs[i].labelFile) },
        labels,
        n,
      );
      const base = { target: t, starter: manifest.version, n, registered: aligned.registered, alignSeconds, at: new Date().toISOString() };
      for (let k = 0; k < FOUR.length; k++) {
        const chosen = choices[k].scores.filter((s) => s.chosen).map((s) => s.index);
        const names = chosen.map((i) => manifest.pairs[i].image.replace(/_t1\.nii\.gz$/, ''));
        const [vote] = await majorityVotes(chosen.length, (i) => readNifti(aligned.pairs[chosen[i]].labelFile), [labels[k]]);
        const input = {
          target,
          pairs: chosen.map((i, j) => ({ imageFile: aligned.pairs[i].imageFile, labelFile: aligned.pairs[i].labelFile, name: names[j] })),
          structures: [{ labels: labels[k], vote }],
        };
        const want = new Set(labels[k]);
        const score = (mask: Uint8Array) => {
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
          return {
            dice: Math.round(((2 * ab) / (a + b)) * 10000) / 10000,
            ml: Math.round(a * voxelMl * 1000) / 1000,
            truthMl: Math.round(b * voxelMl * 1000) / 1000,
          };
        };
        const rows: object[] = [{ ...base, set: 'vote', structure: FOUR[k], chosen: names, ...score(vote.mask) }];
        for (const set of sets) {
          const t1 = performance.now();
          // {"synthetic": true}: what a run on the starter set fuses with (the jlf method with its synthetic-pair settings).
          const [fused] = set.synthetic ? await FUSION_METHODS.jlf.fuse({ ...input, synthetic: true }) : await jointFusion(input, { ...JLF_DEFAULTS, ...set });
          const seconds = Math.round((performance.now() - t1) / 100) / 10;
          rows.push({ ...base, set: JSON.stringify(set), structure: FOUR[k], chosen: names, ...score(fused.mask), computed: fused.computed, seconds });
        }
        for (const row of rows) {
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

/** Mean Dice per (set, structure) over the targets each set has, the latest row of each (target, set, structure). */
function summary(file: string): void {
  const rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { target: string; starter: number; set: string; structure: string; dice: number; ml: number; truthMl: number });
  const latest = new Map<string, (typeof rows)[number]>();
  for (const r of rows) latest.set(`${r.starter}|${r.target}|${r.set}|${r.structure}`, r);
  const all = [...latest.values()];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`| starter | fusion | ${FOUR.join(' | ')} | mean of 4 | targets | hippocampus volume error % |`);
  console.log(`|---|---|${FOUR.map(() => '---').join('|')}|---|---|---|`);
  for (const key of [...new Set(all.map((r) => `${r.starter}\u0000${r.set}`))]) {
    const [starter, set] = key.split('\u0000');
    const sel = all.filter((r) => String(r.starter) === starter && r.set === set);
    const targets = [...new Set(sel.map((r) => r.target))].sort();
    const per = FOUR.map((s) => mean(sel.filter((r) => r.structure === s).map((r) => r.dice)));
    const hip = targets
      .map((t) => sel.find((r) => r.target === t && r.structure === 'hippocampus')!)
      .map((r) => ((100 * (r.ml - r.truthMl)) / r.truthMl).toFixed(0));
    console.log(
      `| ${starter} | ${set} | ${per.map((x) => x.toFixed(3)).join(' | ')} | **${mean(per).toFixed(3)}** | ${targets.join(',')} | ${hip.join(', ')} |`,
    );
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
