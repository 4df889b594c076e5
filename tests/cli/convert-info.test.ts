import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { importSeries, readNifti, reorientToRas, scanDicomFolder } from '../../main/imaging/index.js';
import { neuroverse, ROOT } from '../helpers/cli.js';
import { countDifferent, maxAffineDiff } from '../helpers/compare.js';
import { debianPythonWith, runPython } from '../helpers/python.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir();

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/main/cli/neuroverse.js'))) throw new Error('run `npm run build` before the CLI tests');
});

describe('neuroverse (CLI)', () => {
  test('--help lists the commands', () => {
    const r = neuroverse(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/convert/);
    expect(r.stdout).toMatch(/info/);
  });

  test('info --json on the sample describes its geometry', () => {
    const r = neuroverse(['info', join(ROOT, 'resources/sample/colin27_t1.nii.gz'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.kind).toBe('nifti');
    expect(j.volume.dims).toEqual([181, 217, 181]);
    expect(j.volume.orientation).toBe('RAS');
    expect(j.volume.affine[0]).toEqual([1, 0, 0, -90]);
  });

  test.skipIf(!hasSharedData)('info --json on a folder with two series lists both', () => {
    const r = neuroverse(['info', dicomDir('siemens-xa30-enhanced/In'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.series.map((s: { seriesNumber: number }) => s.seriesNumber)).toEqual([5, 6]);
    expect(j.series[0].reader).toBe('dcm2niix');
    expect(j.volume).toBeUndefined();
  });

  test.skipIf(!hasSharedData)('convert writes the DICOM series as NIfTI with the importer’s voxels and geometry', async () => {
    const out = join(dir, 'ge.nii.gz');
    const r = neuroverse(['convert', dicomDir('ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22'), '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const written = await readNifti(out);
    const direct = await importSeries(await scanDicomFolder(dicomDir('ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22')), undefined);
    expect(countDifferent(written, direct)).toBe(0);
    expect(maxAffineDiff(written, direct)).toBeLessThan(1e-4);
    // And against dcm2niix's own conversion of the same series.
    const ref = await readNifti(dicomDir('ge-3d-t1-mprage/Ref_generated/5_3D_Ax_T1_MP-RAGE_R22.nii.gz'));
    expect(countDifferent(reorientToRas(written), reorientToRas(ref))).toBe(0);
    expect(maxAffineDiff(reorientToRas(written), reorientToRas(ref))).toBeLessThan(1e-3);

    const py = debianPythonWith('nibabel');
    if (py) {
      const forms = JSON.parse(
        runPython(
          py,
          `
import sys, json, nibabel as nib
h = nib.load(sys.argv[1]).header
print(json.dumps({"s": h.get_sform().tolist(), "q": h.get_qform().tolist(), "sc": int(h["sform_code"]), "qc": int(h["qform_code"])}))`,
          [out],
        ),
      );
      expect(forms.sc).toBe(1);
      expect(forms.qc).toBe(1);
      for (const m of [forms.s, forms.q])
        for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expect(Math.abs(m[i][j] - direct.affine[i][j])).toBeLessThan(1e-4);
    }
  });

  test.skipIf(!hasSharedData)('convert of a two-series folder asks for --series, then converts the chosen one', () => {
    const folder = dicomDir('siemens-xa30-enhanced/In');
    const out = join(dir, 'xa30.nii');
    const r = neuroverse(['convert', folder, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/siemens-xa30-enhanced\/In: holds 2 series; pick one with --series UID/);
    expect(existsSync(out)).toBe(false);
    const uid = /#6 "[^"]*" ([0-9.]+)/.exec(r.stderr)![1];
    const ok = neuroverse(['convert', folder, '--series', uid, '--out', out]);
    expect(ok.code).toBe(0);
    expect(existsSync(out)).toBe(true);
  });

  test('convert refuses to replace an existing file without --force', () => {
    const out = join(dir, 'exists.nii.gz');
    writeFileSync(out, 'keep me');
    const r = neuroverse(['convert', join(ROOT, 'resources/sample/colin27_aal.nii.gz'), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/exists\.nii\.gz: already exists/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(neuroverse(['convert', join(ROOT, 'resources/sample/colin27_aal.nii.gz'), '--out', out, '--force']).code).toBe(0);
  });

  test('bad input gives one line naming the file and the problem', () => {
    const bad = join(dir, 'broken.nii.gz');
    writeFileSync(bad, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
    const r = neuroverse(['info', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^neuroverse info: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: gzip data is corrupt or truncated`));
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const missing = neuroverse(['convert', join(dir, 'nope'), '--out', join(dir, 'x.nii')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope: no such file/);
  });

  test('usage errors exit with 2', () => {
    expect(neuroverse(['convert', 'a']).code).toBe(2);
    expect(neuroverse(['frobnicate']).code).toBe(2);
  });
});
