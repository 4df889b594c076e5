import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { importSeries, scanDicomFolder, writeNifti } from '../../main/imaging/index.js';
import { neuroverse, ROOT } from '../helpers/cli.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoStructureMask } from './masks.js';
import { dciodvfy } from './validators.js';

const dir = tempDir('neuroverse-cli-sr-');
const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';

describe.skipIf(!hasSharedData)('neuroverse export-sr (CLI)', () => {
  let mask: string;
  let voxels: Record<number, number>;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/main/cli/neuroverse.js'))) throw new Error('run `npm run build` before the CLI tests');
    const m = twoStructureMask(await importSeries(await scanDicomFolder(dicomDir(GE)), undefined));
    voxels = { 17: 0, 53: 0 };
    for (const v of m.data) if (v) voxels[v]++;
    mask = join(dir, 'mask.nii.gz');
    await writeNifti(mask, m, { intent: 'label' });
  }, 60_000);

  test('SEG then SR referencing it: valid, each volume from the mask, each segment referenced', () => {
    const seg = join(dir, 'seg.dcm');
    const segments = ['--segment', 'Left-Hippocampus=17', '--segment', 'Right-Thalamus=53'];
    expect(neuroverse(['export-seg', '--mask', mask, '--reference', dicomDir(GE), '--out', seg, ...segments]).code).toBe(0);
    const out = join(dir, 'sr.dcm');
    const r = neuroverse(['export-sr', '--mask', mask, '--reference', dicomDir(GE), '--out', out, '--seg', seg, ...segments, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.measurements.map((m: { label: string; voxels: number; segmentNumber: number }) => [m.label, m.voxels, m.segmentNumber])).toEqual([
      ['Left-Hippocampus', voxels[17], 1],
      ['Right-Thalamus', voxels[53], 2],
    ]);
    expect(dciodvfy(out).errors).toEqual([]);
    const again = neuroverse(['export-sr', '--mask', mask, '--reference', dicomDir(GE), '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/sr\.dcm.*exists/);
  });

  test('a reference series the mask was not made on is refused naming the mask', () => {
    const other = dicomDir('siemens-xa30-enhanced/In/5_anat-T1w_acq-tfl');
    const r = neuroverse(['export-sr', '--mask', mask, '--reference', other, '--out', join(dir, 'x.dcm')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/mask\.nii\.gz.*grid does not match/);
  });
});
