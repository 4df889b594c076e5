/**
 * Share of preprocessing (reading, checking, normalising and resampling volumes) in a run without alignment
 * (issue 26: a held-out 256³ target with 4 pairs, at most 25 %). Not a test: prints one JSON line per run, with
 * the CLI's own phase seconds and the output's SHA-256 (builds must agree to the bit).
 * Builds (project roots with bin/ and dist/) are interleaved run by run so that the machine's load falls on all
 * of them alike. Build first (`npm run build:node`), then:
 *   node dist-scripts/bench/preprocess-share.js [--data DIR] [--target 01] [--pairs 02,03,04,05] [--repeat 3]
 *        [--build before=/path/to/other/checkout] [--build after=.]
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../main/settings/paths.js';

const run = promisify(execFile);
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const args = (name: string): string[] => process.argv.flatMap((a, i) => (a === `--${name}` ? [process.argv[i + 1]] : []));

async function main() {
  const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
  const target = arg('target', '01');
  const pairs = arg('pairs', '02,03,04,05').split(',');
  const repeat = Number(arg('repeat', '3'));
  const builds = (args('build').length ? args('build') : [`this=${projectRoot()}`]).map((b) => {
    const [label, root] = b.includes('=') ? [b.slice(0, b.indexOf('=')), b.slice(b.indexOf('=') + 1)] : [b, b];
    return { label, root: resolve(root) };
  });
  const work = mkdtempSync(join(tmpdir(), 'nv-prep-'));
  try {
    for (let rep = 0; rep < repeat; rep++) {
      for (const build of builds) {
        const out = join(work, `out-${build.label}-${rep}.nii.gz`);
        const argv = [
          join(build.root, 'bin', 'neuroverse.js'),
          'run',
          '--target',
          `${data}/sub-${target}_T1.nii.gz`,
          ...pairs.flatMap((s) => ['--context', `${data}/sub-${s}_T1.nii.gz,${data}/sub-${s}_aseg.nii.gz`]),
          '--label',
          '17',
          '--label',
          '53',
          '--align',
          'none',
          '--method',
          'model',
          '--out',
          out,
          '--json',
        ];
        const { stdout } = await run(process.execPath, argv, {
          cwd: build.root,
          env: { ...process.env, NEUROVERSE_DATA_DIR: join(work, `data-${build.label}`) },
          maxBuffer: 1 << 24,
        });
        const r = JSON.parse(stdout.trim().split('\n').pop()!);
        const s = r.seconds;
        console.log(
          JSON.stringify({
            build: build.label,
            repeat: rep,
            seconds: s,
            preprocessShare: Math.round((s.preprocess / s.total) * 1000) / 1000,
            outputSha256: createHash('sha256').update(readFileSync(out)).digest('hex').slice(0, 16),
            cpus: cpus().length,
            cpu: cpus()[0]?.model,
            loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
          }),
        );
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
