/**
 * Leave-one-out evaluation of the lesion methods on the real dev cases (../shared/data/lesions): each glioma the
 * target with the other three as examples, each MS patient the target with the other two; per method (the
 * classifier on FLAIR alone, the classifier on FLAIR + T1c / T1, the FLAIR threshold baseline, and with --model DIR the
 * in-context model of that package on FLAIR): Dice, lesion-wise
 * detection (a true lesion counts as found when the mask touches it; 26-connected), false-positive lesions, volume
 * error and seconds. Rows are appended to the output as they finish, so a run can be split per case:
 *
 *   node dist-scripts/eval/eval-lesions.js [--via module|cli] [--set glioma|ms] [--case NAME] [--method M[,M...]] [--out FILE]
 *                                          [--model DIR]   (adds the row "model": `run --lesion --method model --model DIR`, --via cli)
 *                                          [--variant default|noedge|mirror]   (classifier features, --via module)
 *   node dist-scripts/eval/eval-lesions.js --table [--out FILE]     (the Markdown table of docs/lesions.md)
 *
 * `--via cli` runs `node bin/neuroverse.js run --lesion ... --json` per case (what a user runs; timing includes
 * reading the files and starting the process); `--via module` calls segmentLesions in this process.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { connectedComponents } from '../../main/imaging/components.js';
import { readNifti } from '../../main/imaging/nifti/read.js';
import type { ClassifierOptions } from '../../main/lesion/classifier.js';
import { readLesionCase, segmentLesions, type LesionMethod } from '../../main/lesion/segment-lesions.js';

const DATA = resolve(process.env.LESION_DATA ?? '/work/shared/data/lesions');

interface Case {
  set: 'glioma' | 'ms';
  name: string;
  flair: string;
  second: string;
  label: string;
}

const CASES: Case[] = [
  ...['brats2014-pat222', 'tcga-du-7294', 'tcia-example', 'upenn-gbm-00003'].map((name) => ({
    set: 'glioma' as const,
    name,
    flair: `${DATA}/tumour/${name}_FLAIR.nii.gz`,
    second: `${DATA}/tumour/${name}_T1c.nii.gz`,
    label: `${DATA}/tumour/${name}_${name.startsWith('tc') ? 'tumour-silver' : 'tumour'}.nii.gz`,
  })),
  ...['patient07', 'patient19', 'patient26'].map((name) => ({
    set: 'ms' as const,
    name,
    flair: `${DATA}/ms-open/${name}_FLAIR.nii.gz`,
    second: `${DATA}/ms-open/${name}_T1.nii.gz`,
    label: `${DATA}/ms-open/${name}_lesion.nii.gz`,
  })),
];

const RUNS: { id: string; method: LesionMethod | 'model'; multi: boolean }[] = [
  { id: 'classifier-flair', method: 'classifier', multi: false },
  { id: 'classifier-multi', method: 'classifier', multi: true },
  { id: 'threshold', method: 'threshold', multi: false },
  { id: 'model', method: 'model', multi: false },
];

/** Feature variants measured beside the default (module runs only): without the edge distance, with the mirror. */
const VARIANTS: Record<string, Partial<ClassifierOptions>> = { default: {}, noedge: { edgeCapMm: 0 }, mirror: { mirror: true } };

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Dice, lesion-wise detection and false-positive lesions (26-connected components), volumes in mL. */
function score(pred: Uint8Array, truth: Uint8Array, dims: [number, number, number], voxelMl: number) {
  let a = 0;
  let b = 0;
  let ab = 0;
  for (let i = 0; i < truth.length; i++) {
    a += pred[i];
    b += truth[i];
    ab += pred[i] & truth[i];
  }
  const t = connectedComponents(truth, dims, 26);
  const found = new Uint8Array(t.count + 1);
  for (let i = 0; i < truth.length; i++) if (pred[i]) found[t.labels[i]] = 1;
  let detected = 0;
  for (let k = 1; k <= t.count; k++) detected += found[k];
  const p = connectedComponents(pred, dims, 26);
  const real = new Uint8Array(p.count + 1);
  for (let i = 0; i < truth.length; i++) if (truth[i]) real[p.labels[i]] = 1;
  let falsePositive = 0;
  for (let k = 1; k <= p.count; k++) falsePositive += real[k] ? 0 : 1;
  return {
    dice: a + b === 0 ? 1 : Math.round(((2 * ab) / (a + b)) * 1000) / 1000,
    trueLesions: t.count,
    detected,
    detectionRate: t.count === 0 ? null : Math.round((detected / t.count) * 1000) / 1000,
    predictedLesions: p.count,
    falsePositiveLesions: falsePositive,
    trueMl: Math.round(b * voxelMl * 100) / 100,
    predictedMl: Math.round(a * voxelMl * 100) / 100,
    volumeErrorPct: b === 0 ? null : Math.round(((a - b) / b) * 1000) / 10,
  };
}

async function viaCli(c: Case, examples: Case[], multi: boolean, method: LesionMethod | 'model', work: string) {
  const out = join(work, `${c.name}-${method}-${multi ? 'multi' : 'flair'}.nii.gz`);
  const args = ['bin/neuroverse.js', 'run', '--lesion', '--method', method, '--target', c.flair, '--out', out, '--json'];
  if (method === 'model') args.push('--model', resolve(arg('model')!));
  if (multi) args.push('--target-channel', c.second);
  for (const e of examples) args.push('--context', `${e.flair}${multi ? `+${e.second}` : ''},${e.label}`);
  const t0 = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 1 << 24 });
  const seconds = (performance.now() - t0) / 1000;
  const report = JSON.parse(stdout.trim().split('\n').pop()!);
  const mask = await readNifti(out);
  return {
    mask: Uint8Array.from(mask.data as ArrayLike<number>, (v) => (v ? 1 : 0)),
    seconds,
    rule: report.lesion?.rule ?? null,
    exampleDice: report.lesion?.exampleDice ?? null,
    phases: report.lesion?.seconds as Record<string, number> | undefined,
  };
}

async function viaModule(c: Case, examples: Case[], multi: boolean, method: LesionMethod | 'model') {
  if (method === 'model') throw new Error('the model row runs through the CLI: --via cli');
  const t0 = performance.now();
  const channels = multi ? 2 : 1;
  const target = await readLesionCase({ images: multi ? [c.flair, c.second] : [c.flair] }, channels);
  const ex = [];
  for (const e of examples) {
    const r = await readLesionCase({ images: multi ? [e.flair, e.second] : [e.flair], label: e.label }, channels);
    ex.push({ image: r.image, label: r.label! });
  }
  const r = segmentLesions(method, target.image, ex, VARIANTS[arg('variant') ?? 'default']);
  return { mask: r.mask, seconds: (performance.now() - t0) / 1000, rule: r.rule, exampleDice: r.exampleDice, phases: r.seconds };
}

/** Markdown table of a results file: per set and method, mean (range) over the held-out targets. */
function table(file: string): string {
  const rows: Array<Record<string, unknown> & { set: string; method: string; via: string; dice: number; seconds: number }> = JSON.parse(
    readFileSync(file, 'utf8'),
  ).rows;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const f = (x: number, d = 3) => x.toFixed(d);
  const lines = [
    '| cases | method | via | targets | Dice mean (min–max) | lesions found | false-positive lesions | volume error (mean abs.) | seconds (mean, max) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const groups = new Map<string, typeof rows>();
  for (const r of rows) groups.set(`${r.set}\u0000${r.method}\u0000${r.via}`, [...(groups.get(`${r.set}\u0000${r.method}\u0000${r.via}`) ?? []), r]);
  for (const [key, g] of groups) {
    const [set, method, via] = key.split('\u0000');
    const dice = g.map((r) => r.dice);
    const found = g.reduce((a, r) => a + (r.detected as number), 0);
    const lesions = g.reduce((a, r) => a + (r.trueLesions as number), 0);
    const fp = mean(g.map((r) => r.falsePositiveLesions as number));
    const vol = mean(g.map((r) => Math.abs((r.volumeErrorPct as number) ?? 0)));
    const sec = g.map((r) => r.seconds);
    lines.push(
      `| ${set} | ${method} | ${via} | ${g.length} | ${f(mean(dice))} (${f(Math.min(...dice))}–${f(Math.max(...dice))}) | ${found}/${lesions} (${f(found / Math.max(1, lesions), 2)}) | ${f(fp, 1)} | ${f(vol, 0)} % | ${f(mean(sec), 0)}, ${f(Math.max(...sec), 0)} |`,
    );
  }
  return lines.join('\n');
}

async function main() {
  if (process.argv.includes('--table')) {
    console.log(table(resolve(arg('out') ?? 'docs/results/lesions-loo.json')));
    return;
  }
  const via = arg('via') ?? 'module';
  const outFile = resolve(arg('out') ?? 'docs/results/lesions-loo.json');
  const sets = arg('set') ? [arg('set')] : ['glioma', 'ms'];
  const work = mkdtempSync(join(tmpdir(), 'nv-lesion-eval-'));
  mkdirSync(dirname(outFile), { recursive: true });
  const doc = existsSync(outFile) ? JSON.parse(readFileSync(outFile, 'utf8')) : { rows: [] };
  for (const c of CASES) {
    if (!sets.includes(c.set) || (arg('case') && arg('case') !== c.name)) continue;
    const examples = CASES.filter((e) => e.set === c.set && e !== c);
    const truthVol = await readNifti(c.label);
    const dims = truthVol.dims.slice(0, 3) as [number, number, number];
    const truth = Uint8Array.from(truthVol.data as ArrayLike<number>, (v) => (v ? 1 : 0));
    const voxelMl = truthVol.spacing.slice(0, 3).reduce((a, b) => a * b, 1) / 1000;
    for (const run of RUNS) {
      if (arg('method') && !arg('method')!.split(',').includes(run.id)) continue;
      // The model row needs a package; without --model the runs are the fitted methods' as before.
      if (run.method === 'model' && !arg('model')) continue;
      const r = via === 'cli' ? await viaCli(c, examples, run.multi, run.method, work) : await viaModule(c, examples, run.multi, run.method);
      const row = {
        set: c.set,
        target: c.name,
        examples: examples.map((e) => e.name),
        method: arg('variant') && arg('variant') !== 'default' ? `${run.id}-${arg('variant')}` : run.id,
        via,
        ...score(r.mask, truth, dims, voxelMl),
        seconds: Math.round(r.seconds * 10) / 10,
        rule: r.rule,
        exampleDice: r.exampleDice,
        phases: 'phases' in r ? r.phases : undefined,
      };
      console.log(JSON.stringify(row));
      doc.rows = doc.rows.filter((x: typeof row) => !(x.target === row.target && x.method === row.method && x.via === row.via));
      doc.rows.push(row);
      doc.updated = new Date().toISOString();
      writeFileSync(outFile, JSON.stringify(doc, null, 1) + '\n');
    }
  }
}

await main();
