import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { importCheckpoint } from '../../main/engine/index.js';
import { readNifti } from '../../main/imaging/index.js';
import { ROOT, neuroverse } from '../helpers/cli.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoEchoSeries } from '../helpers/two-echoes.js';
import { findScans } from '../../main/workflow/batch-scans.js';
import { voxelVolumeMm3 } from '../../main/imaging/volume.js';
import { sampleFiles } from '../../main/settings/paths.js';
import { FIXTURES } from '../engine/fixture-helpers.js';
import { writePair } from '../library/fixtures.js';

// `neuroverse batch` over a folder as a worklist meets it: good NIfTI scans, a DICOM series, and a truncated file.
// The tiny fixture model keeps each scan to a fraction of a second; the orchestration is the real one.
const tmp = tempDir();
const env = { NEUROVERSE_DATA_DIR: join(tmp, 'data'), NEUROVERSE_LIBRARY: join(tmp, 'library') };
const model = join(tmp, 'tiny');
const input = join(tmp, 'in');
let context: string;

beforeAll(async () => {
  await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), model, { grid: [32, 32, 32] });
  mkdirSync(join(input, 'site-b'), { recursive: true });
  const ctx = await writePair(tmp, 1);
  context = `${ctx.image},${ctx.label}`;
  for (const [seed, dir] of [
    [2, input],
    [3, join(input, 'site-b')],
    [4, input],
  ] as const) {
    const p = await writePair(join(tmp), seed);
    cpSync(p.image, join(dir, `scan-${seed}_T1.nii.gz`));
    cpSync(p.label, join(dir, `scan-${seed}_seg.nii.gz`));
  }
  // A file cut short in transfer: the worklist must name it and go on.
  const whole = readFileSync(join(input, 'scan-4_T1.nii.gz'));
  writeFileSync(join(input, 'scan-4_T1.nii.gz'), whole.subarray(0, whole.length >> 1));
  if (hasSharedData) cpSync(dicomDir('philips-3d-t1-gzipped/In/cl'), join(input, 'dicom'), { recursive: true });
});

const args = (out: string) => [
  'batch',
  input,
  '--out',
  out,
  '--match',
  '_T1\\.nii',
  '--model',
  model,
  '--context',
  context,
  '--align',
  'none',
  '--device',
  'cpu',
  // The intracranial volume has its own test below (registering the bundled heads onto 16³ images says nothing).
  '--no-icv',
];

function csvRows(out: string): string[][] {
  return readFileSync(join(out, 'volumes.csv'), 'utf8')
    .trim()
    .split('\r\n')
    .map((l) => l.split(','));
}

describe('neuroverse batch', () => {
  const out = join(tmp, 'out');

  test('one row per good scan with its volume, an error row naming the broken file, exit code 1; outputs per scan', async () => {
    const r = neuroverse(args(out), env);
    expect(r.code, r.stderr).toBe(1);
    const [header, ...rows] = csvRows(out);
    expect(header.slice(0, 4)).toEqual(['scan', 'structure', 'labels', 'volume_ml']);
    expect(header).toEqual(expect.arrayContaining(['side', 'asymmetry_index', 'pct_icv', 'percentile', 'doubtful_ml', 'status', 'message']));
    const col = (name: string) => header.indexOf(name);
    const byScan = new Map(rows.map((r) => [r[0], r]));
    const expected = ['scan-2_T1', 'site-b__scan-3_T1', 'scan-4_T1', ...(hasSharedData ? ['dicom'] : [])];
    for (const id of expected)
      expect(
        [...byScan.keys()].some((k) => k.startsWith(id)),
        id,
      ).toBe(true);
    // The label maps beside the scans are not scans (--match).
    expect(rows.some((r) => r[0].includes('_seg'))).toBe(false);
    const broken = byScan.get('scan-4_T1')!;
    expect(broken[col('status')]).toBe('error');
    expect(broken[col('message')]).toMatch(/scan-4_T1\.nii\.gz: .*(truncated|corrupt|end of file)/);
    for (const row of rows.filter((r) => r[0] !== 'scan-4_T1')) {
      expect(row[col('status')]).toBe('ok');
      const folder = join(out, row[0]);
      const mask = await readNifti(join(folder, 'mask.nii.gz'));
      // The CSV's volume is the mask's: voxels × voxel volume.
      let voxels = 0;
      for (let i = 0; i < mask.data.length; i++) if (mask.data[i] > 0) voxels++;
      const mm3 = Math.abs(mask.affine[0][0] * mask.affine[1][1] * mask.affine[2][2]);
      if (row[0].startsWith('scan-') || row[0].startsWith('site-b')) expect(Number(row[col('volume_ml')])).toBeCloseTo((voxels * mm3) / 1000, 3);
      expect(existsSync(join(folder, 'report.html'))).toBe(true);
      expect(JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')).provenance.method).toBe('model');
    }
  }, 240_000);

  test('a second run of the same command redoes nothing and writes the same CSV', () => {
    const before = readFileSync(join(out, 'volumes.csv'), 'utf8');
    const r = neuroverse([...args(out), '--json'], env);
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(summary.resumed).toBe(summary.ok);
    expect(summary.failed).toBe(1);
    expect(readFileSync(join(out, 'volumes.csv'), 'utf8')).toBe(before);
  }, 120_000);

  test('changed settings are a new run of every scan (the resume key holds them)', () => {
    const other = join(tmp, 'out-settings');
    cpSync(out, other, { recursive: true });
    const r = neuroverse([...args(other), '--mini-context', '1', '--json'], env);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(summary.resumed).toBe(0);
  }, 120_000);

  test('killed mid-batch and run again: the same CSV as an uninterrupted run, and no half-written scan folder', async () => {
    const killed = join(tmp, 'out-killed');
    const child = spawn(process.execPath, [resolve(ROOT, 'bin/neuroverse.js'), ...args(killed)], { env: { ...process.env, ...env }, stdio: 'ignore' });
    // Killed as soon as the first scan's folder is in place (the next scan is then under way).
    await new Promise<void>((done, fail) => {
      const poll = setInterval(() => {
        const finished = existsSync(killed) && readdirSync(killed).some((f) => !f.startsWith('.') && existsSync(join(killed, f, 'done.json')));
        if (finished) {
          clearInterval(poll);
          child.kill('SIGKILL');
          done();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(poll);
        fail(new Error('the batch ended before it could be killed'));
      });
    }).catch((err: Error) => expect.fail(err.message));
    await new Promise((r) => child.on('close', r));
    // Every scan folder under its own name is complete.
    for (const f of readdirSync(killed).filter((x) => !x.startsWith('.') && !x.endsWith('.csv')))
      expect(existsSync(join(killed, f, 'done.json')), f).toBe(true);
    const again = neuroverse([...args(killed), '--json'], env);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!).resumed).toBeGreaterThanOrEqual(1);
    expect(readFileSync(join(killed, 'volumes.csv'), 'utf8')).toBe(readFileSync(join(out, 'volumes.csv'), 'utf8'));
    expect(readdirSync(killed).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 240_000);

  test('shards of one folder merge into the CSV of the whole', () => {
    const shared = join(tmp, 'out-shards');
    for (const k of [1, 2]) neuroverse([...args(shared), '--shard', `${k}/2`], env);
    const m = neuroverse(['batch', '--merge', shared], env);
    expect(m.code, m.stderr).toBe(0);
    const sort = (t: string) => t.trim().split('\r\n').slice(1).sort();
    expect(sort(readFileSync(join(shared, 'volumes.csv'), 'utf8'))).toEqual(sort(readFileSync(join(out, 'volumes.csv'), 'utf8')));
  }, 240_000);
});

// A series from which dcm2niix makes several volumes (two echoes here) is a scan per volume (issue 25, "real folders").
describe.skipIf(!hasSharedData)('neuroverse batch over a series that makes two volumes', () => {
  const folder = join(tmp, 'in-echoes');
  const out = join(tmp, 'out-echoes');
  const echoArgs = (o: string) => ['batch', folder, '--out', o, '--model', model, '--context', context, '--align', 'none', '--device', 'cpu', '--no-icv'];

  test('listed as two scans, each named by its volume', async () => {
    twoEchoSeries(join(folder, 'dual'));
    const scans = await findScans(folder);
    expect(scans.map((s) => s.id)).toEqual([expect.stringMatching(/^dual__s5-[\w.]+-v1-e1$/), expect.stringMatching(/^dual__s5-[\w.]+-v2-e2$/)]);
    expect(scans.map((s) => s.label)).toEqual([expect.stringMatching(/volume 1 of 2: .*_e1\)$/), expect.stringMatching(/volume 2 of 2: .*_e2\)$/)]);
    expect(new Set(scans.map((s) => s.volume)).size).toBe(2);
    expect(scans[0].seriesUid).toBe(scans[1].seriesUid);
  }, 120_000);

  test('a row and a folder per volume, each run on its own volume; a second run keeps both', async () => {
    const r = neuroverse(echoArgs(out), env);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = csvRows(out);
    const ids = [...new Set(rows.map((row) => row[0]))];
    expect(ids).toEqual([expect.stringMatching(/-v1-e1$/), expect.stringMatching(/-v2-e2$/)]);
    for (const row of rows) expect(row[header.indexOf('status')]).toBe('ok');
    // Each scan was run on its own volume (the second echo, not the first twice): run.json says what was read.
    const image = ids.map((id) => JSON.parse(readFileSync(join(out, id, 'run.json'), 'utf8')).image as string);
    expect(image).toEqual([expect.stringMatching(/\[volume 1 of 2: .*_e1\]$/), expect.stringMatching(/\[volume 2 of 2: .*_e2\]$/)]);
    const again = neuroverse([...echoArgs(out), '--json'], env);
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!).resumed).toBe(2);
  }, 240_000);
});

// Volumetry per scan (issue 25 part 2): the intracranial volume estimated on each scan fills pct_icv.
describe("neuroverse batch estimates each scan's intracranial volume", () => {
  test('pct_icv is the volume over the atlas-estimated ICV; run.json says how the ICV was obtained', async () => {
    // One atlas: the sample head with its skull-stripped brain as the intracranial mask, and the same head as the
    // scan, so the estimate must be that mask's volume (a head registered onto itself).
    const { t1, brain } = sampleFiles();
    const folder = join(tmp, 'in-icv');
    mkdirSync(folder, { recursive: true });
    cpSync(t1, join(folder, 'colin_T1.nii.gz'));
    const out = join(tmp, 'out-icv');
    const icvArgs = ['batch', folder, '--out', out, '--model', model, '--context', context, '--align', 'none', '--device', 'cpu'];
    const both = neuroverse([...icvArgs, '--icv-atlas', `${t1},${brain}`, '--no-icv'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--icv-atlas or --no-icv, not both/);
    // Age and sex from the user's table (a NIfTI file has no header to give them).
    const table = join(tmp, 'demographics.csv');
    writeFileSync(table, 'scan,age,sex\r\ncolin_T1.nii.gz,45,F\r\n');
    const r = neuroverse([...icvArgs, '--icv-atlas', `${t1},${brain}`, '--demographics', table], env);
    expect(r.code, r.stderr).toBe(0);
    const b = await readNifti(brain);
    let inside = 0;
    for (let i = 0; i < b.data.length; i++) if (b.data[i] !== 0) inside++;
    const brainMl = (inside * voxelVolumeMm3(b.affine)) / 1000;
    const run = JSON.parse(readFileSync(join(out, 'colin_T1', 'run.json'), 'utf8'));
    expect(run.icv.method).toMatch(/majority vote of 1 atlas intracranial mask registered to the scan \(affine, elastix\)/);
    expect(Math.abs(run.icv.volumeMl - brainMl) / brainMl).toBeLessThan(0.02);
    const [header, ...rows] = csvRows(out);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const ml = Number(row[header.indexOf('volume_ml')]);
      const pct = Number(row[header.indexOf('pct_icv')]);
      expect(row[header.indexOf('pct_icv')]).not.toBe('');
      expect(pct).toBeCloseTo((ml / run.icv.volumeMl) * 100, 4);
    }
    const html = readFileSync(join(out, 'colin_T1', 'report.html'), 'utf8');
    expect(html).toMatch(/Intracranial volume \(ICV\): \d+ mL \(majority vote of 1 atlas/);
    expect(html).toContain('Percentiles for age 45, sex F (age given by the user; sex given by the user)');
  }, 240_000);
});
