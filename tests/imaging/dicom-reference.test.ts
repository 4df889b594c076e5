import { describe, expect, test } from 'vitest';
import { importSeries, scanDicomFolder } from '../../main/imaging/dicom/index.js';
import { readNifti } from '../../main/imaging/nifti/read.js';
import { reorientToRas } from '../../main/imaging/reorient.js';
import { valueRange } from '../../main/imaging/volume.js';
import { countDifferent, maxAffineDiff, maxRealDiff } from '../helpers/compare.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';

// Every series in ../shared/data/dicom against the dcm2niix conversion shipped beside it: identical voxels,
// affine within 1e-3 mm once both are put in the same axis order.
const cases = [
  {
    name: 'GE classic 3D T1',
    dir: 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22',
    ref: 'ge-3d-t1-mprage/Ref_generated/5_3D_Ax_T1_MP-RAGE_R22.nii.gz',
    reader: 'dicom-parser',
  },
  {
    name: 'Philips gzipped 3D T1 with float scaling',
    dir: 'philips-3d-t1-gzipped/In/cl',
    ref: 'philips-3d-t1-gzipped/Ref_generated/1301_ADNI_Sag3D_MPRAGE.nii.gz',
    reader: 'dicom-parser',
  },
  {
    name: 'Siemens XA30 enhanced, series 5',
    dir: 'siemens-xa30-enhanced/In/5_anat-T1w_acq-tfl',
    ref: 'siemens-xa30-enhanced/Ref/5_anat-T1w_acq-tfl.nii',
    reader: 'dcm2niix',
  },
  {
    name: 'Siemens XA30 enhanced, series 6',
    dir: 'siemens-xa30-enhanced/In/6_anat-T1w_acq-tfl',
    ref: 'siemens-xa30-enhanced/Ref/6_anat-T1w_acq-tfl.nii',
    reader: 'dcm2niix',
  },
  { name: 'Siemens mosaic EPI (4D)', dir: 'siemens-mosaic-epi/In/mr_0003', ref: 'siemens-mosaic-epi/Ref/EPI_PE=AP_3.nii', reader: 'dcm2niix' },
];

describe.skipIf(!hasSharedData)('DICOM import matches dcm2niix', () => {
  for (const c of cases) {
    test(c.name, async () => {
      const scan = await scanDicomFolder(dicomDir(c.dir));
      expect(scan.series).toHaveLength(1);
      expect(scan.series[0].summary.reader).toBe(c.reader);
      const ours = reorientToRas(await importSeries(scan, undefined));
      const ref = reorientToRas(await readNifti(dicomDir(c.ref)));
      expect(ours.dims).toEqual(ref.dims);
      expect(countDifferent(ours, ref)).toBe(0);
      expect(maxAffineDiff(ours, ref)).toBeLessThan(1e-3);
      // Real values agree up to the float32 rounding of scl_slope in the reference header.
      const [lo, hi] = valueRange(ref);
      expect(maxRealDiff(ours, ref)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(lo), Math.abs(hi)));
    });
  }

  test('a folder with two series lists both and imports the one picked', async () => {
    const scan = await scanDicomFolder(dicomDir('siemens-xa30-enhanced/In'));
    expect(scan.series.map((s) => s.summary.seriesNumber)).toEqual([5, 6]);
    await expect(importSeries(scan, undefined)).rejects.toThrow(/holds 2 series; pick one/);
    const six = await importSeries(scan, scan.series[1].uid);
    const ref = await readNifti(dicomDir('siemens-xa30-enhanced/Ref/6_anat-T1w_acq-tfl.nii'));
    expect(countDifferent(reorientToRas(six), reorientToRas(ref))).toBe(0);
  });

  test('non-image files in a series folder are skipped, not misread', async () => {
    const scan = await scanDicomFolder(dicomDir('siemens-mosaic-epi/In/mr_0003'));
    expect(scan.skipped).toContain('README-Series.txt');
  });
});
