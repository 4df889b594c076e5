/**
 * Does choosing the context help (issue 14)? Leave-one-out on the real dev heads: each subject the target, the
 * other four the candidates; for each N, `neuroverse run --auto-context N` against every subset of N candidates
 * (the mean over all subsets is exactly what a random choice of N gives on average), through the app's own CLI.
 * Not a test: prints Markdown tables and writes JSON. Build first (`npm run build:node`), then:
 *   node dist-scripts/eval/context-choice.js [--sizes 1,2] [--methods vote] [--align affine]
 *        [--targets 01,02,03,04,05] [--structures hippocampus,thalamus,...] [--out docs/results/context-choice.json]
 * Registrations are cached in one data folder for the whole run, so only each target's first run is cold.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../main/settings/paths.js';
import { dice, STRUCTURES } from './dev-heads.js';

const exec = promisify(execFile);
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

function subsets<T>(xs: T[], n: number): T[][] {
  if (n === 0) return [[]];
  if (xs.length < n) return [];
  const [first, ...rest] = xs;
  return [...subsets(rest, n - 1).map((s) => [first, ...s]), ...subsets(rest, n)];
}

async function main() {
  const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
  if (!existsSync(data)) throw new Error(`${data}: dev data not found`);
  const sizes = arg('sizes', '1,2').split(',').map(Number);
  const methods = arg('methods', 'vote').split(',');
  const align = arg('align', 'affine');
  const targets = arg('targets', '01,02,03,04,05').split(',');
  const names = arg('structures', Object.keys(STRUCTURES).join(',')).split(',');
  const outJson = resolve(arg('out', join(projectRoot(), 'docs', 'results', 'context-choice.json')));
  const cli = join(projectRoot(), 'bin', 'neuroverse.js');
  const work = mkdtempSync(join(tmpdir(), 'nv-choice-'));
  const env = { ...process.env, NEUROVERSE_DATA_DIR: join(work, 'data') };
  const rows: Record<string, unknown>[] = [];
  const started = new Date().toISOString();
  try {
    for (const t of targets) {
      const others = ['01', '02', '03', '04', '05'].filter((s) => s !== t);
      const pair = (s: string) => `${data}/sub-${s}_T1.nii.gz,${data}/sub-${s}_aseg.nii.gz`;
      for (const method of methods) {
        for (const name of names) {
          const labels = STRUCTURES[name].flatMap((l) => ['--label', String(l)]);
          const once = async (context: string[], extra: string[]) => {
            const out = join(work, `out-${t}.nii.gz`);
            rmSync(out, { force: true });
            const argv = [
              cli,
              'run',
              '--target',
              `${data}/sub-${t}_T1.nii.gz`,
              ...context.flatMap((c) => ['--context', pair(c)]),
              ...labels,
              '--align',
              align,
              '--method',
              method,
              ...extra,
              '--out',
              out,
              '--json',
            ];
            const { stdout } = await exec(process.execPath, argv, { env, maxBuffer: 1 << 24 });
            const report = JSON.parse(stdout.trim().split('\n').pop()!);
            return { dice: await dice(out, `${data}/sub-${t}_aseg.nii.gz`, STRUCTURES[name]), report };
          };
          for (const n of sizes) {
            const auto = await once(others, ['--auto-context', String(n)]);
            const chosen = (auto.report.contextChoice as { image: string; chosen: boolean }[])
              .filter((c) => c.chosen)
              .map((c) => /sub-(\d+)_T1/.exec(c.image)![1]);
            const all = [];
            for (const s of subsets(others, n)) all.push({ pairs: s, ...(await once(s, [])) });
            const mean = all.reduce((a, r) => a + r.dice, 0) / all.length;
            const best = Math.max(...all.map((r) => r.dice));
            const row = {
              target: t,
              method,
              align,
              structure: name,
              n,
              chosen,
              autoDice: auto.dice,
              randomDice: mean,
              bestSubsetDice: best,
              worstSubsetDice: Math.min(...all.map((r) => r.dice)),
              subsets: all.map((r) => ({ pairs: r.pairs, dice: r.dice })),
              autoSeconds: auto.report.seconds.total,
              chooseSeconds: auto.report.seconds.choose,
              subsetSeconds: all.reduce((a, r) => a + r.report.seconds.total, 0) / all.length,
            };
            rows.push(row);
            console.error(JSON.stringify({ ...row, subsets: undefined }));
          }
          // All four pairs, for the time and Dice a run without choosing costs.
          const full = await once(others, []);
          rows.push({ target: t, method, align, structure: name, n: others.length, allDice: full.dice, allSeconds: full.report.seconds.total });
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(
    outJson,
    JSON.stringify({ machine: { cpus: cpus().length, cpu: cpus()[0]?.model, started, finished: new Date().toISOString() }, rows }, null, 1),
  );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`| method | N of 4 | ${names.join(' | ')} | mean | auto − random | auto picked the best subset | warm s (auto / random) |`);
  console.log(`|---|---|${names.map(() => '---').join('|')}|---|---|---|---|`);
  for (const method of methods) {
    for (const n of sizes) {
      const sel = rows.filter((r) => r.method === method && r.n === n && typeof r.autoDice === 'number');
      const cell = (s: string) => {
        const r = sel.filter((x) => x.structure === s);
        return `${mean(r.map((x) => x.autoDice as number)).toFixed(3)} / ${mean(r.map((x) => x.randomDice as number)).toFixed(3)}`;
      };
      const auto = mean(sel.map((r) => r.autoDice as number));
      const random = mean(sel.map((r) => r.randomDice as number));
      const best = sel.filter((r) => (r.autoDice as number) >= (r.bestSubsetDice as number) - 1e-9).length;
      const warm = sel.filter((r) => r.structure !== names[0]);
      console.log(
        `| ${method} | ${n} | ${names.map(cell).join(' | ')} | ${auto.toFixed(3)} / ${random.toFixed(3)} | ${(auto - random >= 0 ? '+' : '') + (auto - random).toFixed(3)} | ${best} of ${sel.length} | ${mean(warm.map((r) => r.autoSeconds as number)).toFixed(1)} / ${mean(warm.map((r) => r.subsetSeconds as number)).toFixed(1)} |`,
      );
    }
    const full = rows.filter((r) => r.method === method && typeof r.allDice === 'number');
    console.log(
      `| ${method} | all 4 | ${names.map((s) => mean(full.filter((x) => x.structure === s).map((x) => x.allDice as number)).toFixed(3)).join(' | ')} | ${mean(full.map((r) => r.allDice as number)).toFixed(3)} | | | ${mean(full.filter((r) => r.structure !== names[0]).map((r) => r.allSeconds as number)).toFixed(1)} |`,
    );
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
