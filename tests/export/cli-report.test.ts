import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { readRunSummary, scanReport } from '../../main/export/scan-report.js';
import { writeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { findChromium } from '../../main/util/chromium.js';
import { neuroverse, ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('neuroverse-cli-report-');

/** A 40×40×30 scan (1.5 mm voxels) with a left (17, 4×4×4) and right (53, 4×4×3) block. */
function phantom(): { target: Volume; mask: Volume } {
  const [nx, ny, nz] = [40, 40, 30];
  const img = new Int16Array(nx * ny * nz).map((_, i) => 100 + (i % 37));
  const lab = new Uint8Array(nx * ny * nz);
  for (let k = 10; k < 14; k++)
    for (let j = 18; j < 22; j++)
      for (let i = 0; i < 4; i++) {
        lab[10 + i + j * nx + k * nx * ny] = 53;
        if (k < 13) lab[26 + i + j * nx + k * nx * ny] = 17;
      }
  const affine = [
    [-1.5, 0, 0, 30],
    [0, 1.5, 0, -30],
    [0, 0, 1.5, -20],
    [0, 0, 0, 1],
  ];
  const base = { dims: [nx, ny, nz], spacing: [1.5, 1.5, 1.5], affine, slope: 1, intercept: 0, description: '' };
  return { target: { ...base, data: img, source: { kind: 'memory' } }, mask: { ...base, data: lab, source: { kind: 'memory' } } };
}

const RUN = {
  method: 'vote',
  align: 'affine',
  uncertainMl: 0.25,
  qc: [{ kind: 'registration', pair: 'a.nii.gz', message: 'pair a.nii.gz: the aligned image barely resembles the target' }],
  provenance: {
    type: 'AUTOMATIC',
    algorithmName: 'Neuroverse atlas vote',
    algorithmVersion: '0.1.0',
    method: 'vote',
    alignment: 'affine',
    contextSet: { name: 'dev', identity: 'f00d', pairs: 4 },
    runId: null,
  },
};

describe('per-scan report', () => {
  let target: string;
  let mask: string;
  let run: string;
  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/main/cli/neuroverse.js'))) throw new Error('run `npm run build` before the CLI tests');
    const p = phantom();
    target = join(dir, 'scan.nii.gz');
    mask = join(dir, 'mask.nii.gz');
    run = join(dir, 'run.json');
    await writeNifti(target, p.target);
    await writeNifti(mask, p.mask, { intent: 'label' });
    writeFileSync(run, JSON.stringify(RUN));
  });

  test('from a run report and a DICOM header: warnings, provenance, identifiers, age and sex', async () => {
    const p = phantom();
    const dicomTarget: Volume = {
      ...p.target,
      source: { kind: 'dicom', dicom: { patientId: 'ID7', patientName: 'Doe^Jane', patientAge: '071Y', patientSex: 'F', studyDate: '20261130' } },
    };
    const r = scanReport({ target: dicomTarget, targetName: 'scan', mask: p.mask, run: await readRunSummary(run), createdAt: 'fixed' });
    expect(r.volumetry.demographics).toMatchObject({ age: 71, sex: 'F' });
    expect(r.warnings).toEqual([
      'pair a.nii.gz: the aligned image barely resembles the target',
      '0.25 mL of the segmented voxels are in doubt (the context labels disagree there, doubt ≥ 0.5)',
    ]);
    expect(r.html).toContain('<dd>Doe Jane</dd>');
    expect(r.html).toContain('dev: 4 pairs (identity f00d)');
    expect(r.csv.split('\r\n')[0]).toBe('scan,structure,label,side,volume_ml,icv_ml,pct_icv,asymmetry_index,percentile,norm,age,sex');
    writeFileSync(join(dir, 'not-a-run.json'), '[1, 2]');
    await expect(readRunSummary(join(dir, 'not-a-run.json'))).rejects.toThrow(/not-a-run\.json.*not a run report/);
  });

  test('neuroverse report writes HTML, CSV and (with Chromium) PDF; volumes, % ICV and asymmetry from the mask', () => {
    const out = join(dir, 'report.html');
    const csv = join(dir, 'volumes.csv');
    const pdf = join(dir, 'report.pdf');
    const r = neuroverse([
      'report',
      '--target',
      target,
      '--mask',
      mask,
      '--run',
      run,
      '--out',
      out,
      '--csv',
      csv,
      '--pdf',
      pdf,
      '--icv',
      '20',
      '--age',
      '70',
      '--sex',
      'M',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    // 48 and 64 voxels of 3.375 mm³: 0.162 and 0.216 mL; asymmetry 16/56 = 28.6 %.
    const byValue = Object.fromEntries(j.volumetry.rows.map((x: { value: number; volumeMl: number; pctIcv: number }) => [x.value, x]));
    expect(byValue[17].volumeMl).toBeCloseTo(0.162, 9);
    expect(byValue[53].volumeMl).toBeCloseTo(0.216, 9);
    expect(byValue[17].pctIcv).toBeCloseTo(0.81, 9);
    expect(j.volumetry.pairs[0].asymmetryIndex).toBeCloseTo((16 / 56) * 100, 9);
    expect(j.volumetry.demographics).toMatchObject({ age: 70, sex: 'M' });
    expect(readFileSync(out, 'utf8')).toContain('Neuroverse atlas vote');
    // 1.89 % of the ICV is far above the bundled table's upper bound for a man of 70.
    expect(readFileSync(csv, 'utf8')).toContain('Hippocampus (L+R),L+R,both,0.3780,20.0,1.8900,28.57,>97.5,coupe2017-hippocampus-total-M');
    if (findChromium()) {
      expect(j.pdf).toBe(pdf);
      expect(readFileSync(pdf).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    }
    const again = neuroverse(['report', '--target', target, '--mask', mask, '--out', out, '--icv', '20']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/report\.html.*already exists/);
  }, 60_000);

  test('without Chromium the HTML is written and a warning says why there is no PDF', () => {
    const out = join(dir, 'nopdf.html');
    const pdf = join(dir, 'nopdf.pdf');
    const r = neuroverse(['report', '--target', target, '--mask', mask, '--out', out, '--pdf', pdf, '--no-icv'], {
      NEUROVERSE_BROWSER: join(dir, 'no-browser'),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(pdf)).toBe(false);
    expect(r.stderr).toMatch(/warning: .*nopdf\.pdf: not written: no Chromium/);
  });

  test('a mask on another grid is refused naming it', async () => {
    const p = phantom();
    const small = join(dir, 'small.nii.gz');
    await writeNifti(small, { ...p.mask, dims: [40, 40, 29], data: p.mask.data.subarray(0, 40 * 40 * 29) }, { intent: 'label' });
    const r = neuroverse(['report', '--target', target, '--mask', small, '--out', join(dir, 'x.html'), '--no-icv']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/small\.nii\.gz.*grid/);
  });
});
