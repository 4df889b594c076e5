import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../main/common/errors.js';
import { exportSeg } from '../../main/export/seg/index.js';
import { COMPREHENSIVE_SR, exportSr } from '../../main/export/sr/index.js';
import { importSeries, readNifti, scanDicomFolder, writeNifti } from '../../main/imaging/index.js';
import { debianPythonWith } from '../helpers/python.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoStructureMask } from './masks.js';
import { ACCEPTED_WARNINGS, dciodvfy } from './validators.js';

const dir = tempDir('neuroverse-sr-');
const CHECK_SR_PY = resolve(import.meta.dirname, 'check_sr.py');
const SEGMENTS = [
  { label: 'Left-Hippocampus', value: 17 },
  { label: 'Right-Thalamus', value: 53 },
];

/** The mask's own volume per value, counted here from the file (not from the SR code's numbers). */
async function maskMl(file: string): Promise<Record<number, number>> {
  const m = await readNifti(file);
  const a = m.affine;
  const det = Math.abs(
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]),
  );
  const out: Record<number, number> = {};
  for (const v of m.data) if (v) out[v] = (out[v] ?? 0) + det / 1000;
  return out;
}

describe.skipIf(!hasSharedData)('DICOM SR (TID 1500) of segment volumes', () => {
  const py = debianPythonWith('pydicom') && debianPythonWith('nibabel');

  test.each([
    ['GE classic, oblique', 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22'],
    ['Siemens XA30 enhanced', 'siemens-xa30-enhanced/In/5_anat-T1w_acq-tfl'],
  ])('%s: valid per dciodvfy, each volume within 0.5 % of the mask, the SEG segments referenced', async (_name, folder) => {
    const ref = dicomDir(folder);
    const volume = await importSeries(await scanDicomFolder(ref), undefined);
    const tag = folder.split('/')[0];
    const maskPath = join(dir, `mask-${tag}.nii.gz`);
    await writeNifti(maskPath, twoStructureMask(volume), { intent: 'label' });
    const mask = await readNifti(maskPath);
    const segOut = join(dir, `seg-${tag}.dcm`);
    const seg = await exportSeg(mask, maskPath, ref, segOut, { segments: SEGMENTS });
    const out = join(dir, `sr-${tag}.dcm`);
    const r = await exportSr(mask, maskPath, ref, out, {
      segments: SEGMENTS,
      segFile: segOut,
      provenance: { type: 'AUTOMATIC', algorithmName: 'atlas vote', method: 'vote', alignment: 'affine' },
    });

    const v = dciodvfy(out);
    expect(v.errors, v.output).toEqual([]);
    expect(
      v.warnings.filter((w) => !ACCEPTED_WARNINGS.some((a) => a.test(w))),
      v.output,
    ).toEqual([]);

    const truth = await maskMl(maskPath);
    const dump = spawnSync('dsrdump', ['+Pc', out], { encoding: 'utf8' });
    expect(dump.status, dump.stderr).toBe(0);
    // dsrdump prints each NUM as <contains NUM:(118565006,SCT,"Volume")="16.74" (ml,UCUM,"milliliter")>.
    const dumped = [...dump.stdout.matchAll(/NUM:\(118565006,SCT,"Volume"\)="([\d.]+)" \(ml,UCUM/g)].map((m) => Number(m[1]));
    expect(dumped).toHaveLength(2);
    SEGMENTS.forEach((s, i) => expect(Math.abs(dumped[i] - truth[s.value]) / truth[s.value]).toBeLessThan(0.005));
    expect(dump.stdout).toContain('Imaging Measurement Report');

    if (py) {
      const p = spawnSync(py, [CHECK_SR_PY, out, maskPath], { encoding: 'utf8' });
      expect(p.status, p.stderr).toBe(0);
      const c = JSON.parse(p.stdout);
      expect(c).toMatchObject({ sopClass: COMPREHENSIVE_SR, template: '1500', title: 'Imaging Measurement Report' });
      expect(c.evidenceSeries).toEqual(expect.arrayContaining([r.referenceSeriesUid, seg.seriesInstanceUid]));
      expect(c.groups).toHaveLength(2);
      c.groups.forEach(
        (g: { tracking: string; volume: number; exact: number; unit: string; segment: { number: number; sop: string }; sourceSeries: string }, i: number) => {
          expect(g).toMatchObject({ template: '1411', tracking: SEGMENTS[i].label, unit: 'ml', sourceSeries: r.referenceSeriesUid });
          expect(Math.abs(g.volume - truth[SEGMENTS[i].value]) / truth[SEGMENTS[i].value]).toBeLessThan(0.005);
          // FloatingPointValue carries the volume without the DS rounding.
          expect(g.exact).toBeCloseTo(truth[SEGMENTS[i].value], 9);
          // The SEG export numbers segments in the order given; the SR points at the one of the same mask value.
          expect(g.segment).toMatchObject({ number: i + 1, sop: seg.sopInstanceUid });
        },
      );
      expect(c.groups.map((g: { site: string; laterality: string }) => `${g.laterality} ${g.site}`)).toEqual(['Left Hippocampus', 'Right Thalamus']);
      expect(c.groups[0].algorithm).toEqual(['atlas vote']);
      // nibabel's count of the mask agrees with the one the SR was checked against above.
      SEGMENTS.forEach((s) => expect(c.maskMl[String(s.value)]).toBeCloseTo(truth[s.value], 6));
    }
  });

  test('without a SEG: the source series only; with a mask off the series grid: refused naming the mask', async () => {
    const ref = dicomDir('ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22');
    const volume = await importSeries(await scanDicomFolder(ref), undefined);
    const maskPath = join(dir, 'mask-noseg.nii.gz');
    await writeNifti(maskPath, twoStructureMask(volume), { intent: 'label' });
    const mask = await readNifti(maskPath);
    const out = join(dir, 'sr-noseg.dcm');
    const r = await exportSr(mask, maskPath, ref, out, { provenance: { type: 'MANUAL' } });
    expect(r.measurements.map((m) => [m.label, m.segmentNumber])).toEqual([
      ['Label 17', undefined],
      ['Label 53', undefined],
    ]);
    expect(dciodvfy(out).errors).toEqual([]);
    // Nothing is overwritten without being asked.
    const before = readFileSync(out);
    await expect(exportSr(mask, maskPath, ref, out)).rejects.toThrow(/exists/);
    expect(readFileSync(out).equals(before)).toBe(true);

    const cropped = {
      ...mask,
      dims: [mask.dims[0], mask.dims[1], mask.dims[2] - 1],
      data: mask.data.subarray(0, mask.dims[0] * mask.dims[1] * (mask.dims[2] - 1)),
    };
    const err = await exportSr(cropped, 'cropped.nii.gz', ref, join(dir, 'sr-bad.dcm')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(String(err)).toMatch(/cropped\.nii\.gz.*grid does not match/);
  });
});
