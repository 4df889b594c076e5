import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { importSeries, scanDicomFolder, writeNifti } from '../../main/imaging/index.js';
import { neuroverse, ROOT } from '../helpers/cli.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoStructureMask } from './masks.js';
import { dciodvfy } from './validators.js';

const dir = tempDir('neuroverse-cli-seg-');
const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';

describe.skipIf(!hasSharedData)('neuroverse export-seg (CLI)', () => {
  let mask: string;
  let counts: Record<number, number>;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/main/cli/neuroverse.js'))) throw new Error('run `npm run build` before the CLI tests');
    const volume = await importSeries(await scanDicomFolder(dicomDir(GE)), undefined);
    const m = twoStructureMask(volume);
    counts = { 17: 0, 53: 0 };
    for (const v of m.data) if (v) counts[v]++;
    mask = join(dir, 'mask.nii.gz');
    await writeNifti(mask, m, { intent: 'label' });
  }, 60_000);

  test('writes a valid SEG with named segments and a volume CSV', () => {
    const out = join(dir, 'seg.dcm');
    const csv = join(dir, 'volumes.csv');
    const r = neuroverse([
      'export-seg',
      '--mask',
      mask,
      '--reference',
      dicomDir(GE),
      '--out',
      out,
      '--segment',
      'Left-Hippocampus=17',
      '--segment',
      'Left-Lateral-Ventricle=53',
      '--stats',
      csv,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/segment 1 "Left-Hippocampus" \(value 17\): \d+ voxels in \d+ frames, SCT 5366008 Hippocampus/);
    expect(r.stdout).toMatch(/segment 2 "Left-Lateral-Ventricle" \(value 53\): .*SCT 66720007 Lateral ventricle/);
    expect(dciodvfy(out).errors).toEqual([]);
    const lines = readFileSync(csv, 'utf8').trim().split('\r\n');
    expect(lines[0]).toBe('structure,label,voxels,volume_ml');
    // GE voxels: 0.9375 × 0.9375 × 1.2 mm (the slice step from the positions).
    const [, name, value, voxels, ml] = /^(.*),(\d+),(\d+),([\d.]+)$/.exec(lines[1])!;
    expect([name, Number(value), Number(voxels)]).toEqual(['Left-Hippocampus', 17, counts[17]]);
    expect(Math.abs(Number(ml) - (counts[17] * 0.9375 * 0.9375 * 1.2) / 1000)).toBeLessThan(1e-3);
  }, 120_000);

  test('bad input: one line naming the file and the problem, exit 1, nothing written', async () => {
    const out = join(dir, 'bad.dcm');
    const colin = join(ROOT, 'resources/sample/colin27_aal.nii.gz');
    const grid = neuroverse(['export-seg', '--mask', colin, '--reference', dicomDir(GE), '--out', out]);
    expect(grid.code).toBe(1);
    expect(grid.stderr.trim().split('\n')).toHaveLength(1);
    expect(grid.stderr).toMatch(/^neuroverse export-seg: .*colin27_aal\.nii\.gz: grid does not match the reference series: mask is 181×217×181/);

    const two = neuroverse(['export-seg', '--mask', mask, '--reference', dicomDir('siemens-xa30-enhanced/In'), '--out', out]);
    expect(two.code).toBe(1);
    expect(two.stderr.trim().split('\n')).toHaveLength(1);
    expect(two.stderr).toMatch(/holds 2 series; pick the reference with --series UID/);

    const missing = neuroverse(['export-seg', '--mask', mask, '--reference', dicomDir(GE), '--out', out, '--segment', 'Thalamus=99']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/segment "Thalamus" \(value 99\) has no voxels in the mask/);
    expect(existsSync(out)).toBe(false);

    writeFileSync(out, 'keep');
    const exists = neuroverse(['export-seg', '--mask', mask, '--reference', dicomDir(GE), '--out', out]);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/bad\.dcm: already exists/);
    expect(readFileSync(out, 'utf8')).toBe('keep');
  }, 180_000);

  test('usage errors exit 2', () => {
    expect(neuroverse(['export-seg', '--mask', mask]).code).toBe(2);
    expect(neuroverse(['export-seg', '--mask', mask, '--reference', 'x', '--out', 'y', '--segment', 'nonsense']).code).toBe(2);
  });
});
