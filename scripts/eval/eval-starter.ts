/**
 * The starter library on real heads (issue 24): each dev head (../shared/data/freesurfer-dev) is a target,
 * the bundled starter set its only context (the dev heads are never pairs), four structures, through the
 * app's own CLI with no --context (`neuroverse run --target T --structure S --out O --json`), one child
 * process per run. Each target starts from a fresh data folder, so its first structure is the cold run
 * (starter install + registrations) and the others are warm. Not a test: prints a table, writes JSON.
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/eval/eval-starter.js [--targets 01,02,03,04,05] [--configs default,affine]
 *        [--out docs/results/starter-library.json] [--data DIR]
 * A config is `name` or `name:extra args` with args separated by spaces, e.g. `affine-all:--align affine --auto-context 7`;
 * the named ones: default (no flags), affine (--align affine). A name starting with `~` runs in the data folder
 * of the config before it (its registrations cached: Dice only, no cold run). Rows are appended to --out as they finish.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../main/settings/paths.js';
import { readNifti } from '../../main/imaging/index.js';
import { dice } from './dev-heads.js';

const run = promisify(execFile);
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

const STRUCTURES = ['hippocampus', 'thalamus', 'lateral ventricle', 'putamen'];
const LABELS: Record<string, number[]> = { hippocampus: [17, 53], thalamus: [10, 49], 'lateral ventricle': [4, 43], putamen: [12, 51] };
const NAMED: Record<string, string[]> = { default: [], affine: ['--align', 'affine'] };

interface Row {
  config: string;
  args: string[];
  target: string;
  structure: string;
  dice: number;
  /** Volume of the result and of the target's own aseg structure, mL. */
  ml: number;
  truthMl: number;
  cold: boolean;
  seconds: number;
  alignSeconds: number;
  contextSet: string | null;
  contextSize: number;
  chosen: string[] | null;
  method: string;
  align: string;
  peakRssMB: number;
  load1: number;
  at: string;
}

async function main() {
  const root = projectRoot();
  const data = resolve(arg('data', join(root, '..', 'shared', 'data', 'freesurfer-dev')));
  if (!existsSync(data)) throw new Error(`${data}: no dev heads (../shared/data/freesurfer-dev)`);
  const targets = arg('targets', '01,02,03,04,05').split(',');
  const configs = arg('configs', 'default,affine')
    .split(',')
    .map((c) => {
      const [tagged, extra] = c.split(':');
      const name = tagged.replace(/^~/, '');
      return { name, warm: tagged.startsWith('~'), args: extra !== undefined ? extra.split(' ').filter(Boolean) : (NAMED[name] ?? []) };
    });
  const outFile = resolve(arg('out', join(root, 'docs', 'results', 'starter-library.json')));
  const prior = existsSync(outFile) ? (JSON.parse(readFileSync(outFile, 'utf8')) as { rows: Row[] }) : { rows: [] };
  const rows: Row[] = prior.rows ?? [];
  const cli = join(root, 'bin', 'neuroverse.js');
  for (const t of targets) {
    let dataDir = '';
    for (const config of configs) {
      // A fresh data folder per target and config: the first run installs the starter set and registers cold.
      if (!config.warm || !dataDir) {
        if (dataDir) rmSync(dataDir, { recursive: true, force: true });
        dataDir = mkdtempSync(join(tmpdir(), 'nv-starter-'));
      }
      {
        for (const [k, structure] of STRUCTURES.entries()) {
          const out = join(dataDir, `result-${config.name}-${k}.nii.gz`);
          const argv = [cli, 'run', '--target', join(data, `sub-${t}_T1.nii.gz`), '--out', out, '--structure', structure, ...config.args, '--json'];
          const t0 = performance.now();
          const { stdout } = await run(process.execPath, argv, { env: { ...process.env, NEUROVERSE_DATA_DIR: dataDir }, maxBuffer: 1 << 24 });
          const seconds = (performance.now() - t0) / 1000;
          const r = JSON.parse(stdout.trim().split('\n').pop()!);
          const d = await dice(out, join(data, `sub-${t}_aseg.nii.gz`), LABELS[structure]);
          const [ml, truthMl] = await Promise.all([
            volumeMl(out, () => true),
            volumeMl(join(data, `sub-${t}_aseg.nii.gz`), (v) => LABELS[structure].includes(v)),
          ]);
          const row: Row = {
            config: config.name,
            args: config.args,
            target: `sub-${t}`,
            structure,
            dice: Math.round(d * 1000) / 1000,
            ml,
            truthMl,
            cold: k === 0 && !config.warm,
            seconds: Math.round(seconds * 10) / 10,
            alignSeconds: r.seconds.align,
            contextSet: r.contextSet?.name ?? null,
            contextSize: r.contextSize,
            chosen: r.contextChoice
              ? r.contextChoice.filter((c: { chosen: boolean }) => c.chosen).map((c: { image: string }) => c.image.split('/').pop())
              : null,
            method: r.method,
            align: r.align,
            peakRssMB: r.peakRssMB,
            load1: Math.round(loadavg()[0] * 100) / 100,
            at: new Date().toISOString(),
          };
          rows.push(row);
          console.log(
            `${row.config} ${row.target} ${structure}: Dice ${row.dice}, ${row.seconds} s${row.cold ? ' (cold)' : ''}, set "${row.contextSet}", L ${row.contextSize}`,
          );
          writeFileSync(
            outFile,
            JSON.stringify(
              { what: 'starter library on the dev heads, no --context (scripts/eval/eval-starter.ts)', cpus: cpus().length, cpu: cpus()[0]?.model, rows },
              null,
              2,
            ) + '\n',
          );
        }
      }
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  // Table: mean Dice per structure and config, cold and warm seconds.
  for (const config of [...new Set(rows.map((r) => r.config))]) {
    const rs = rows.filter((r) => r.config === config);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const per = STRUCTURES.map((s) => mean(rs.filter((r) => r.structure === s).map((r) => r.dice)).toFixed(3));
    console.log(
      `| ${config} | ${per.join(' | ')} | ${mean(rs.map((r) => r.dice)).toFixed(3)} | ${mean(rs.filter((r) => r.cold).map((r) => r.seconds)).toFixed(0)} | ${mean(rs.filter((r) => !r.cold).map((r) => r.seconds)).toFixed(0)} |`,
    );
  }
}

/** Volume (mL) of the voxels whose value `keep` accepts (non-zero ones only). */
async function volumeMl(file: string, keep: (v: number) => boolean): Promise<number> {
  const v = await readNifti(file);
  let n = 0;
  for (let i = 0; i < v.data.length; i++) {
    const x = v.data[i] * v.slope + v.intercept;
    if (x !== 0 && keep(x)) n++;
  }
  return Math.round(n * v.spacing.slice(0, 3).reduce((a, b) => a * b, 1)) / 1000;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
