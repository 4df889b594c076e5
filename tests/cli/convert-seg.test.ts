import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { importSeries, readNifti, scanDicomFolder, writeNifti } from '../../main/imaging/index.js';
import { twoStructureMask } from '../export/masks.js';
import { neuroverse, ROOT } from '../helpers/cli.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('neuroverse-cli-seg-');
const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';

describe.skipIf(!hasSharedData)('neuroverse convert seg.dcm', () => {
  const mask = join(dir, 'mask.nii.gz');
  const seg = join(dir, 'seg.dcm');
  const study = join(dir, 'study');

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/main/cli/neuroverse.js'))) throw new Error('run `npm run build` before the CLI tests');
    await writeNifti(mask, twoStructureMask(await importSeries(await scanDicomFolder(dicomDir(GE)), undefined)), { intent: 'label' });
    const r = neuroverse([
      'export-seg',
      '--mask',
      mask,
      '--reference',
      dicomDir(GE),
      '--out',
      seg,
      '--segment',
      'Left-Hippocampus=17',
      '--segment',
      'Right-Thalamus=53',
    ]);
    expect(r.stderr).toBe('');
    // A study folder as a PACS retrieval leaves it: the series and its SEG side by side.
    mkdirSync(study);
    for (const f of readdirSync(dicomDir(GE))) copyFileSync(join(dicomDir(GE), f), join(study, f));
    copyFileSync(seg, join(study, 'seg.dcm'));
  }, 120_000);

  test('a SEG beside its series: the label map on the series grid, the segment table printed; no overwrite without --force', async () => {
    const out = join(dir, 'back.nii.gz');
    const r = neuroverse(['convert', join(study, 'seg.dcm'), '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /back\.nii\.gz: 256×256×130 label map from DICOM-SEG .*seg\.dcm on series [\d.]+ \(frames placed by source images, values: recorded values\)/,
    );
    expect(lines[1]).toMatch(/^ {2}value 17 {2}segment 1 "Left-Hippocampus" {2}#d92626 {2}\d+ voxels in \d+ frames {2}\(Hippocampus\)$/);
    expect(lines[2]).toMatch(/^ {2}value 53 {2}segment 2 "Right-Thalamus" {2}#[0-9a-f]{6} /);
    const [a, b] = [await readNifti(out), await readNifti(mask)];
    expect(a.affine).toEqual(b.affine);
    const bytes = (v: typeof a) => Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    expect(a.data.constructor).toBe(b.data.constructor);
    expect(bytes(a).equals(bytes(b))).toBe(true);

    const before = statSync(out).mtimeMs;
    const again = neuroverse(['convert', join(study, 'seg.dcm'), '--out', out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/back\.nii\.gz: already exists \(choose another name or pass --force to replace it\)/);
    expect(statSync(out).mtimeMs).toBe(before);
    expect(neuroverse(['convert', join(study, 'seg.dcm'), '--out', out, '--force']).code).toBe(0);
  }, 120_000);

  test('info lists the SEG beside the series, not as a series', () => {
    const r = neuroverse(['info', study, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.series).toHaveLength(1);
    expect(j.segs).toEqual([{ file: 'seg.dcm', description: expect.stringMatching(/^SEG /), referencedSeries: [j.series[0].seriesInstanceUid] }]);
  }, 120_000);

  test('--reference and --json: the segment table as JSON', () => {
    const r = neuroverse(['convert', seg, '--reference', dicomDir(GE), '--out', join(dir, 'json.nii.gz'), '--json']);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    expect(j.dims).toEqual([256, 256, 130]);
    expect(j.overlapVoxels).toBe(0);
    expect(j.segments.map((s: { number: number; value: number; name: string; hex: string }) => [s.number, s.value, s.name, s.hex.length])).toEqual([
      [1, 17, 'Left-Hippocampus', 7],
      [2, 53, 'Right-Thalamus', 7],
    ]);
    expect(j.segments[0].color).toEqual([217, 38, 38]);
    expect(j.segments[0].voxels).toBeGreaterThan(1000);
  }, 120_000);

  test('no referenced series, a wrong folder, a DICOM image instead of a SEG: one line naming the file', () => {
    // The SEG's own folder is searched (with its subfolders) when --reference is not given.
    const lone = join(dir, 'lone');
    mkdirSync(lone);
    copyFileSync(seg, join(lone, 'seg.dcm'));
    const alone = neuroverse(['convert', join(lone, 'seg.dcm'), '--out', join(dir, 'x.nii.gz')]);
    expect(alone.code).toBe(1);
    expect(alone.stderr.trim().split('\n')).toHaveLength(1);
    expect(alone.stderr).toMatch(
      /^neuroverse convert: .*seg\.dcm: its referenced series [\d.]+ is not in .*lone; it holds no image series \(give the folder of the series with --reference DIR\)/,
    );

    const wrong = neuroverse(['convert', seg, '--reference', dicomDir('philips-3d-t1-gzipped/In/cl'), '--out', join(dir, 'x.nii.gz')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/seg\.dcm: its referenced series [\d.]+ is not in .*philips-3d-t1-gzipped\/In\/cl; the series there: 1\.3\.46\./);

    const slice = join(dicomDir(GE), readdirSync(dicomDir(GE))[0]);
    const image = neuroverse(['convert', slice, '--out', join(dir, 'x.nii.gz')]);
    expect(image.code).toBe(1);
    expect(image.stderr).toMatch(/MRDC\.\d+: is not a DICOM-SEG; convert reads a NIfTI file, a DICOM folder, or a DICOM-SEG file/);
    expect(existsSync(join(dir, 'x.nii.gz'))).toBe(false);
  }, 120_000);
});
