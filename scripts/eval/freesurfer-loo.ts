/**
 * Leave-one-out on the real dev heads (../shared/data/freesurfer-dev, issue 10): each subject the target,
 * the other four its context pairs, six structures, every alignment × method, all through the app's own
 * CLI (`neuroverse run`, one child process per run). Not a test: prints a Markdown table and writes JSON.
 * Build first (`npm run build:node`), then:
 *   node dist-scripts/eval/freesurfer-loo.js [--data DIR] [--aligns none,affine,deformable] [--methods vote,model]
 *        [--targets 01,02,03,04,05] [--out docs/results/freesurfer-loo.json] [--pairs 4]
 *        [--card resources/models/default]   (also writes the table into that package's evaluation card)
 *        [--from docs/results/freesurfer-loo.json]   (no runs: the table and card from an earlier run's JSON)
 *        [--model DIR]   (a model package other than the installed default)
 *        [--precision auto|fp32|int8]   (passed to neuroverse run for the model rows)
 *        [--merge docs/results/freesurfer-loo.json]   (adds that run's atlas-vote rows for alignments this run did
 *                             not measure, e.g. deformable vote beside a new model: the vote uses no model)
 *        [--sizes 1,2,4,8]   (context sizes; above 4 the other heads' left-right mirror images are added, labels
 *                             swapped, since five heads leave only four others; the registration cache is shared
 *                             across sizes, so only the first size of a target runs cold)
 * An alignment written `affine@colin27` aligns through the bundled Colin27 T1 (`--reference`) instead of
 * pair → target. Each alignment starts from an empty registration cache (a fresh data folder), so the first
 * run of a target pays for its registrations ("cold"); the other structures of that target reuse them.
 * Through a reference, a cold run counts only once the pairs' own registrations to the reference are
 * cached (from target 03 on), as a library that registers pairs when they are added would have them.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/index.js';
import { projectRoot } from '../../main/settings/paths.js';
import { dice, STRUCTURES } from './dev-heads.js';

const run = promisify(execFile);
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

/**
 * Does the doubt map point at the errors? Area under the ROC curve of doubt (0–255) for misclassified voxels
 * against correct ones, inside the box of truth ∪ result grown by 5 voxels (far from the structure everything
 * is trivially right). Ties count half. Null when the box holds no error or no correct voxel.
 */
async function doubtAuc(resultFile: string, truthFile: string, doubtFile: string, labels: number[]): Promise<number | null> {
  const [r, t, u] = [await readNifti(resultFile), await readNifti(truthFile), await readNifti(doubtFile)];
  const want = new Set(labels);
  const [nx, ny, nz] = t.dims;
  const lo = [nx, ny, nz];
  const hi = [-1, -1, -1];
  const inside = (i: number) => want.has(t.data[i] * t.slope + t.intercept) || r.data[i] > 0;
  for (let z = 0, i = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++, i++) if (inside(i)) [x, y, z].forEach((c, k) => ((lo[k] = Math.min(lo[k], c)), (hi[k] = Math.max(hi[k], c))));
  if (hi[0] < 0) return null;
  const pos = new Float64Array(256);
  const neg = new Float64Array(256);
  for (let z = Math.max(0, lo[2] - 5); z <= Math.min(nz - 1, hi[2] + 5); z++)
    for (let y = Math.max(0, lo[1] - 5); y <= Math.min(ny - 1, hi[1] + 5); y++)
      for (let x = Math.max(0, lo[0] - 5); x <= Math.min(nx - 1, hi[0] + 5); x++) {
        const i = x + nx * (y + ny * z);
        const wrong = want.has(t.data[i] * t.slope + t.intercept) !== r.data[i] > 0;
        (wrong ? pos : neg)[u.data[i]]++;
      }
  const P = pos.reduce((a, b) => a + b, 0);
  const N = neg.reduce((a, b) => a + b, 0);
  if (P === 0 || N === 0) return null;
  let below = 0;
  let auc = 0;
  for (let v = 0; v < 256; v++) {
    auc += pos[v] * (below + 0.5 * neg[v]);
    below += neg[v];
  }
  return auc / (P * N);
}

async function main() {
  const data = resolve(arg('data', join(projectRoot(), '..', 'shared', 'data', 'freesurfer-dev')));
  if (!existsSync(data)) throw new Error(`${data}: dev data not found`);
  const aligns = arg('aligns', 'none,affine,deformable').split(',');
  const methods = arg('methods', 'vote,model').split(',');
  const targets = arg('targets', '01,02,03,04,05').split(',');
  const nPairs = Number(arg('pairs', '4'));
  const sizes = arg('sizes', String(nPairs)).split(',').map(Number);
  const model = arg('model', '');
  const precision = arg('precision', '');
  const outJson = resolve(arg('out', join(projectRoot(), 'docs', 'results', 'freesurfer-loo.json')));
  const cli = join(projectRoot(), 'bin', 'neuroverse.js');
  const work = mkdtempSync(join(tmpdir(), 'nv-loo-'));
  const from = arg('from', '');
  const earlier = from ? JSON.parse(readFileSync(resolve(from), 'utf8')) : null;
  const rows: Record<string, unknown>[] = earlier ? earlier.rows : [];
  const mergeFile = arg('merge', '');
  const started = new Date().toISOString();
  try {
    for (const spec of earlier ? [] : aligns) {
      const [align, via] = spec.split('@');
      const reference = via ? join(projectRoot(), 'resources', 'sample', 'colin27_t1.nii.gz') : undefined;
      const dataDir = join(work, `data-${spec}`);
      for (const t of targets) {
        for (const size of sizes) {
          const others = ['01', '02', '03', '04', '05'].filter((s) => s !== t);
          const files = others.map((s) => `${data}/sub-${s}_T1.nii.gz,${data}/sub-${s}_aseg.nii.gz`);
          for (const s of others.slice(0, Math.max(0, size - others.length))) files.push(await mirroredPair(data, s, work));
          const context = files.slice(0, size).flatMap((f) => ['--context', f]);
          for (const method of methods) {
            for (const [name, labels] of Object.entries(STRUCTURES)) {
              const out = join(work, `out-${align}-${method}-${t}.nii.gz`);
              const doubtOut = align === 'none' ? null : join(work, `doubt-${align}-${method}-${t}.nii.gz`);
              rmSync(out, { force: true });
              if (doubtOut) rmSync(doubtOut, { force: true });
              const argv = [
                cli,
                'run',
                '--target',
                `${data}/sub-${t}_T1.nii.gz`,
                ...context,
                ...labels.flatMap((l) => ['--label', String(l)]),
                '--align',
                align,
                ...(reference ? ['--reference', reference] : []),
                '--method',
                method,
                ...(model && method === 'model' ? ['--model', resolve(model)] : []),
                ...(precision && method === 'model' ? ['--precision', precision] : []),
                ...(doubtOut ? ['--uncertainty', doubtOut] : []),
                '--out',
                out,
                '--json',
              ];
              const { stdout } = await run(process.execPath, argv, { env: { ...process.env, NEUROVERSE_DATA_DIR: dataDir }, maxBuffer: 1 << 24 });
              const report = JSON.parse(stdout.trim().split('\n').pop()!);
              const d = await dice(out, `${data}/sub-${t}_aseg.nii.gz`, labels);
              const auc = doubtOut ? await doubtAuc(out, `${data}/sub-${t}_aseg.nii.gz`, doubtOut, labels) : null;
              const row = {
                target: t,
                align: spec,
                method,
                pairs: size,
                structure: name,
                dice: d,
                doubtAuc: auc,
                uncertainMl: report.uncertainMl,
                seconds: report.seconds.total,
                alignSeconds: report.seconds.align,
                registered: report.registered,
                referenceRegistered: report.referenceRegistered,
                peakRssMB: report.peakRssMB,
              };
              rows.push(row);
              console.error(JSON.stringify(row));
            }
          }
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (mergeFile) {
    const measured = new Set(rows.map((r) => `${r.align}|${r.method}`));
    const extra = (JSON.parse(readFileSync(resolve(mergeFile), 'utf8')).rows as Record<string, unknown>[]).filter(
      (r) => r.method === 'vote' && !measured.has(`${r.align}|${r.method}`),
    );
    rows.push(...extra.map((r) => ({ ...r, mergedFrom: mergeFile })));
  }
  const machine = earlier?.machine ?? {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memGB: Math.round(totalmem() / 2 ** 30),
    loadavg: loadavg(),
    started,
    finished: new Date().toISOString(),
  };
  if (!earlier) writeFileSync(outJson, JSON.stringify({ machine, pairs: nPairs, rows }, null, 1));
  const cardDir = arg('card', '');
  if (cardDir) writeCard(cardDir, rows, nPairs, machine.finished);
  // Markdown: mean Dice (min–max over targets) per structure, per alignment × method; times.
  const names = Object.keys(STRUCTURES);
  const four = ['hippocampus', 'thalamus', 'lateral ventricle', 'putamen'];
  console.log(`| alignment | method | ${names.join(' | ')} | mean of 4 | mean of 6 | cold run s | warm run s | peak RSS MB |`);
  console.log(`|---|---|${names.map(() => '---').join('|')}|---|---|---|---|---|`);
  const shown = [...new Set(rows.map((r) => r.align as string))];
  const shownMethods = [...new Set(rows.map((r) => r.method as string))];
  const shownSizes = [...new Set(rows.map((r) => pairsOf(r, nPairs)))].sort((a, b) => a - b);
  for (const align of shown) {
    for (const size of shownSizes) {
      for (const method of shownMethods) {
        const sel = rows.filter((r) => r.align === align && r.method === method && pairsOf(r, nPairs) === size);
        if (sel.length === 0) continue;
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        const cell = (n: string) => {
          const ds = sel.filter((r) => r.structure === n).map((r) => r.dice as number);
          return `${mean(ds).toFixed(2)} (${Math.min(...ds).toFixed(2)}–${Math.max(...ds).toFixed(2)})`;
        };
        const m4 = mean(sel.filter((r) => four.includes(r.structure as string)).map((r) => r.dice as number));
        const m6 = mean(sel.map((r) => r.dice as number));
        const viaReference = align.includes('@');
        const cold = sel
          .filter((r) => (r.registered as number) > 0 && (!viaReference || (r.referenceRegistered as number) <= 1))
          .map((r) => r.seconds as number);
        const warm = sel.filter((r) => (r.registered as number) === 0).map((r) => r.seconds as number);
        const fmt = (xs: number[]) => (xs.length ? `${mean(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})` : '—');
        console.log(
          `| ${align}${shownSizes.length > 1 ? `, L = ${size}` : ''} | ${method} | ${names.map(cell).join(' | ')} | **${m4.toFixed(3)}** | ${m6.toFixed(3)} | ${fmt(cold)} | ${fmt(warm)} | ${Math.max(...sel.map((r) => r.peakRssMB as number))} |`,
        );
      }
    }
  }
  printDoubtTable(rows, nPairs);
}

/** Mean doubt AUC (errors vs correct voxels near the structure) per structure, for the runs that wrote a doubt map. */
function printDoubtTable(rows: Record<string, unknown>[], nPairs: number): void {
  const withAuc = rows.filter((r) => typeof r.doubtAuc === 'number');
  if (!withAuc.length) return;
  const names = Object.keys(STRUCTURES);
  console.log(`\n| doubt AUC (errors vs correct, near the structure) | ${names.join(' | ')} | all |`);
  console.log(`|---|${names.map(() => '---').join('|')}|---|`);
  const keys = [...new Set(withAuc.map((r) => `${r.align}|${r.method}|${pairsOf(r, nPairs)}`))];
  for (const k of keys) {
    const [align, method, size] = k.split('|');
    const sel = withAuc.filter((r) => r.align === align && r.method === method && String(pairsOf(r, nPairs)) === size);
    const mean = (xs: number[]) => (xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2) : '—');
    console.log(
      `| ${align}, ${method}, L = ${size} | ${names.map((n) => mean(sel.filter((r) => r.structure === n).map((r) => r.doubtAuc as number))).join(' | ')} | ${mean(sel.map((r) => r.doubtAuc as number))} |`,
    );
  }
}

function pairsOf(r: Record<string, unknown>, fallback: number): number {
  return typeof r.pairs === 'number' ? r.pairs : fallback;
}

/** LIA/RAS alike: the voxel axis that runs left–right, from the affine. */
function leftRightAxis(v: Volume): number {
  const col = [0, 1, 2].map((k) => Math.abs(v.affine[0][k]));
  return col.indexOf(Math.max(...col));
}

// FreeSurfer aseg left ↔ right labels.
const LR: Record<number, number> = { 2: 41, 3: 42, 4: 43, 5: 44, 7: 46, 8: 47, 10: 49, 11: 50, 12: 51, 13: 52, 17: 53, 18: 54, 26: 58, 28: 60, 30: 62, 31: 63 };
const SWAP = new Map<number, number>(
  Object.entries(LR).flatMap(([a, b]) => [
    [Number(a), b],
    [b, Number(a)],
  ]),
);

/** A head's left–right mirror image (voxels flipped in place, labels swapped): a fifth, sixth... context pair. */
async function mirroredPair(data: string, s: string, work: string): Promise<string> {
  const out = [join(work, `mirror-${s}_T1.nii.gz`), join(work, `mirror-${s}_aseg.nii.gz`)];
  if (!existsSync(out[1])) {
    for (const [k, kind] of (['T1', 'aseg'] as const).entries()) {
      const v = await readNifti(`${data}/sub-${s}_${kind}.nii.gz`);
      const [nx, ny, nz] = v.dims;
      const axis = leftRightAxis(v);
      const src = v.data;
      const dst = new (src.constructor as new (n: number) => typeof src)(src.length);
      for (let z = 0; z < nz; z++)
        for (let y = 0; y < ny; y++)
          for (let x = 0; x < nx; x++) {
            const m = [x, y, z];
            m[axis] = v.dims[axis] - 1 - m[axis];
            const value = src[x + nx * (y + ny * z)];
            dst[m[0] + nx * (m[1] + ny * m[2])] = kind === 'aseg' ? (SWAP.get(value * v.slope + v.intercept) ?? value) : value;
          }
      await writeNifti(out[k], { ...v, data: dst });
    }
  }
  return `${out[0]},${out[1]}`;
}

/** The model's card gains the real-scan table: mean Dice per structure for each method × alignment measured. */
function writeCard(dir: string, rows: Record<string, unknown>[], nPairs: number, at: string): void {
  const file = join(resolve(dir), 'manifest.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  // Aligned runs only (without alignment both methods fail on these heads: the table in docs/alignment.md).
  const all = rows.filter((r) => r.align !== 'none' && !(r.align as string).includes('@'));
  const aligned = all.filter((r) => pairsOf(r, nPairs) === nPairs);
  const columns = [...new Set(aligned.map((r) => `${r.method}|${r.align}`))].map((k) => ({ method: k.split('|')[0], align: k.split('|')[1] }));
  const dice: Record<string, number[]> = {};
  for (const name of Object.keys(STRUCTURES)) {
    dice[name] = columns.map((c) => {
      const ds = aligned.filter((r) => r.structure === name && r.method === c.method && r.align === c.align).map((r) => r.dice as number);
      return Math.round((ds.reduce((a, b) => a + b, 0) / ds.length) * 1000) / 1000;
    });
  }
  manifest.evaluation = manifest.evaluation ?? {};
  // The line the Run panel shows first: where the model stands on real heads against atlas vote.
  const mean4 = (method: string, align: string) => {
    const four = ['hippocampus', 'thalamus', 'lateral ventricle', 'putamen'];
    const ds = aligned.filter((r) => r.method === method && r.align === align && four.includes(r.structure as string)).map((r) => r.dice as number);
    return ds.length ? ds.reduce((a, b) => a + b, 0) / ds.length : null;
  };
  const model = mean4('model', 'affine');
  if (model !== null) {
    const parts = [
      `Real T1 heads with skull (leave-one-out, ${nPairs} pairs, affine): model ${model.toFixed(2)} mean Dice over hippocampus, thalamus, lateral ventricle and putamen`,
    ];
    const av = mean4('vote', 'affine');
    const dv = mean4('vote', 'deformable');
    if (av !== null) parts.push(`atlas vote ${av.toFixed(2)} at the same alignment`);
    if (dv !== null) parts.push(`${dv.toFixed(2)} after deformable registration`);
    if (typeof manifest.evaluation.summary === 'string' && !manifest.evaluation.summarySynthetic)
      manifest.evaluation.summarySynthetic = manifest.evaluation.summary;
    manifest.evaluation.summary = `${parts.join('; ')}.`;
  }
  manifest.evaluation.realScans = {
    note: `Leave-one-out on 5 real T1 heads with skull (freesurfer-dev), ${nPairs} context pairs, neuroverse run; mean Dice over the 5 targets (${at.slice(0, 10)}, scripts/eval/freesurfer-loo.ts).`,
    columns,
    dice,
  };
  const sizes = [...new Set(all.map((r) => pairsOf(r, nPairs)))].sort((a, b) => a - b);
  // Only targets measured at every size, so each size averages the same heads.
  const targetsOf = (n: number) => new Set(all.filter((r) => pairsOf(r, nPairs) === n).map((r) => r.target as string));
  const complete = [...targetsOf(sizes[0])].filter((t) => sizes.every((n) => targetsOf(n).has(t))).sort();
  if (sizes.length > 1 && complete.length > 0) {
    const mean = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1000) / 1000;
    const bySize: Record<string, unknown> = {};
    for (const c of columns) {
      const sel = (n: number) =>
        all.filter((r) => r.method === c.method && r.align === c.align && pairsOf(r, nPairs) === n && complete.includes(r.target as string));
      bySize[`${c.method}|${c.align}`] = {
        dice: Object.fromEntries(
          Object.keys(STRUCTURES).map((name) => [
            name,
            sizes.map((n) =>
              mean(
                sel(n)
                  .filter((r) => r.structure === name)
                  .map((r) => r.dice as number),
              ),
            ),
          ]),
        ),
        // Warm runs (registrations cached): what the method itself costs at each size.
        seconds: sizes.map((n) =>
          mean(
            sel(n)
              .filter((r) => (r.registered as number) === 0)
              .map((r) => r.seconds as number),
          ),
        ),
      };
    }
    manifest.evaluation.realScansBySize = {
      note: `Targets ${complete.join(', ')} (leave-one-out). Context sizes 1, 2, 4 use the first other heads; 8 adds their left-right mirror images (labels swapped). Seconds: warm runs (registrations cached) of neuroverse run, one structure.`,
      sizes,
      columns: bySize,
    };
  }
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
