/**
 * Leave-one-out of the fusion methods on the real dev heads (issue 24): each of ../shared/data/freesurfer-dev's
 * five subjects the target, the first L of the other four its context pairs, four structures (hippocampus,
 * thalamus, lateral ventricle, putamen), method × alignment, each run through the app's CLI (`neuroverse run`,
 * one process per run), Dice against the target's own aseg. Not a test: appends one JSON row per run to a
 * JSONL file as it goes (so a long evaluation can be split per target and resumed), and prints the table.
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/eval/fusion-loo.js [--targets 01,02] [--aligns affine,deformable] [--methods vote,jlf,model]
 *        [--sizes 4] [--work .tmp/fusion-loo] [--rows docs/results/fusion-loo.jsonl] [--fresh] [--table-only]
 * Registrations are cached per (alignment, target) data folder under --work, kept across invocations: the cache
 * keys hold every registration setting, so a changed setting registers again and an unchanged one is reused.
 * The first run of a target with an empty folder is "cold" (it registers its pairs); `--fresh` empties the
 * folders of the targets and alignments asked for first.
 */
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../main/settings/paths.js';
import { dice, STRUCTURES } from './dev-heads.js';

const run = promisify(execFile);
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const FOUR = ['hippocampus', 'thalamus', 'lateral ventricle', 'putamen'];

interface Row {
  target: string;
  align: string;
  method: string;
  pairs: number;
  structure: string;
  dice: number;
  uncertainMl: number | null;
  seconds: number;
  cpuSeconds?: number | null;
  alignSeconds: number;
  fuseSeconds: number;
  registered: number;
  peakRssMB: number;
  at: string;
  load: number;
}

async function main() {
  const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
  const rowsFile = resolve(arg('rows', join(projectRoot(), 'docs', 'results', 'fusion-loo.jsonl')));
  if (!process.argv.includes('--table-only')) {
    if (!existsSync(data)) throw new Error(`${data}: dev data not found`);
    const aligns = arg('aligns', 'affine,deformable').split(',');
    const methods = arg('methods', 'vote,jlf').split(',');
    const targets = arg('targets', '01,02,03,04,05').split(',');
    const sizes = arg('sizes', '4').split(',').map(Number);
    const work = resolve(arg('work', join(projectRoot(), '.tmp', 'fusion-loo')));
    const cli = join(projectRoot(), 'bin', 'neuroverse.js');
    for (const align of aligns) {
      for (const t of targets) {
        const dataDir = join(work, `data-${align}-${t}`);
        if (process.argv.includes('--fresh')) rmSync(dataDir, { recursive: true, force: true });
        mkdirSync(dataDir, { recursive: true });
        for (const size of sizes) {
          const others = ['01', '02', '03', '04', '05'].filter((s) => s !== t);
          if (size > others.length) throw new Error(`--sizes: at most ${others.length} pairs without mirror images`);
          const context = others.slice(0, size).flatMap((s) => ['--context', `${data}/sub-${s}_T1.nii.gz,${data}/sub-${s}_aseg.nii.gz`]);
          for (const method of methods) {
            for (const name of FOUR) {
              const labels = STRUCTURES[name];
              const out = join(work, `out-${align}-${method}-${t}.nii.gz`);
              const doubt = join(work, `doubt-${align}-${method}-${t}.nii.gz`);
              rmSync(out, { force: true });
              rmSync(doubt, { force: true });
              const argv = [
                cli,
                'run',
                '--target',
                `${data}/sub-${t}_T1.nii.gz`,
                ...context,
                ...labels.flatMap((l) => ['--label', String(l)]),
                '--align',
                align,
                '--method',
                method,
                '--uncertainty',
                doubt,
                '--out',
                out,
                '--json',
              ];
              // CPU seconds of the whole process (threads included) beside its wall clock: on a shared machine the
              // wall clock also measures the neighbours; GNU time reports them where it is installed.
              const timed = existsSync('/usr/bin/time');
              const { stdout, stderr } = await run(timed ? '/usr/bin/time' : process.execPath, timed ? ['-f', 'cpu %U %S', process.execPath, ...argv] : argv, {
                env: { ...process.env, NEUROVERSE_DATA_DIR: dataDir },
                maxBuffer: 1 << 24,
              });
              const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr.trim());
              const report = JSON.parse(stdout.trim().split('\n').pop()!);
              const row: Row = {
                target: t,
                align,
                method,
                pairs: size,
                structure: name,
                dice: Math.round((await dice(out, `${data}/sub-${t}_aseg.nii.gz`, labels)) * 10000) / 10000,
                uncertainMl: report.uncertainMl ?? null,
                seconds: report.seconds.total,
                cpuSeconds: cpu ? Math.round((Number(cpu[1]) + Number(cpu[2])) * 10) / 10 : null,
                alignSeconds: report.seconds.align,
                fuseSeconds: report.seconds.vote,
                registered: report.registered,
                peakRssMB: report.peakRssMB,
                at: new Date().toISOString(),
                load: Math.round(loadavg()[0] * 10) / 10,
              };
              appendFileSync(rowsFile, `${JSON.stringify(row)}\n`);
              console.error(JSON.stringify(row));
            }
          }
        }
      }
    }
  }
  printTable(
    readFileSync(rowsFile, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row),
  );
}

/** Mean Dice over the targets (min–max) per structure; the latest row of each (target, align, method, L, structure). */
function printTable(all: Row[]): void {
  const latest = new Map<string, Row>();
  for (const r of all) latest.set(`${r.target}|${r.align}|${r.method}|${r.pairs}|${r.structure}`, r);
  const rows = [...latest.values()];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const fmt = (xs: number[], d = 0) => (xs.length ? `${mean(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})` : '—');
  console.log(
    `| alignment | method | L | ${FOUR.join(' | ')} | mean of 4 | targets | cold run s | cold CPU s | load (cold) | warm run s | fusion s | peak RSS MB |`,
  );
  console.log(`|---|---|---|${FOUR.map(() => '---').join('|')}|---|---|---|---|---|---|---|---|`);
  const keys = [...new Set(rows.map((r) => `${r.align}|${r.method}|${r.pairs}`))].sort();
  for (const k of keys) {
    const [align, method, pairs] = k.split('|');
    const sel = rows.filter((r) => r.align === align && r.method === method && String(r.pairs) === pairs);
    const targets = [...new Set(sel.map((r) => r.target))].sort();
    // Mean of 4 only over targets with all four structures.
    const full = targets.filter((t) => FOUR.every((n) => sel.some((r) => r.target === t && r.structure === n)));
    const m4 = full.length ? mean(full.map((t) => mean(sel.filter((r) => r.target === t).map((r) => r.dice)))) : NaN;
    const cold = sel.filter((r) => r.registered > 0).map((r) => r.seconds);
    const coldCpu = sel.filter((r) => r.registered > 0 && typeof r.cpuSeconds === 'number').map((r) => r.cpuSeconds as number);
    const loads = sel.filter((r) => r.registered > 0).map((r) => r.load);
    const warm = sel.filter((r) => r.registered === 0).map((r) => r.seconds);
    console.log(
      `| ${align} | ${method} | ${pairs} | ${FOUR.map((n) =>
        fmt(
          sel.filter((r) => r.structure === n).map((r) => r.dice),
          3,
        ),
      ).join(' | ')} | **${m4.toFixed(3)}** | ${targets.join(',')} | ${fmt(cold)} | ${fmt(coldCpu)} | ${fmt(loads, 1)} | ${fmt(warm)} | ${fmt(
        sel.map((r) => r.fuseSeconds),
        1,
      )} | ${Math.max(...sel.map((r) => r.peakRssMB))} |`,
    );
  }
  console.log(`\n(${cpus().length} × ${cpus()[0]?.model}; rows: ${all.length})`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
