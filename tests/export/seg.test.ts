import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { exportSeg, segUnavailableReason, terminologyFor } from '../../main/export/seg/index.js';
import { importSeries, readNifti, scanDicomFolder, writeNifti } from '../../main/imaging/index.js';
import { debianPythonWith } from '../helpers/python.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoStructureMask } from './masks.js';
import { CHECK_SEG_PY, dcentvfy, dciodvfy, ACCEPTED_WARNINGS, UNAVOIDABLE_ENTITY_WARNINGS } from './validators.js';

const dir = tempDir('neuroverse-seg-');

/** Every shared series that can carry a SEG (the mosaic EPI cannot: see the refusal test). */
const SOURCES = [
  { name: 'GE classic, oblique', folder: 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22' },
  { name: 'Philips classic, gzipped files', folder: 'philips-3d-t1-gzipped/In/cl' },
  { name: 'Siemens XA30 enhanced, series 5', folder: 'siemens-xa30-enhanced/In/5_anat-T1w_acq-tfl' },
  { name: 'Siemens XA30 enhanced, series 6', folder: 'siemens-xa30-enhanced/In/6_anat-T1w_acq-tfl' },
];

/** Source files as dcentvfy and pydicom can read them (the Philips series is gzip-compressed per file). */
function plainSources(folder: string, tag: string): string[] {
  const files = readdirSync(folder).map((f) => join(folder, f));
  if (!files.some((f) => f.endsWith('.gz'))) return files;
  const out = join(dir, `src-${tag}`);
  mkdirSync(out, { recursive: true });
  return files.map((f, i) => {
    const p = join(out, `${i}.dcm`);
    writeFileSync(p, gunzipSync(readFileSync(f)));
    return p;
  });
}

describe.skipIf(!hasSharedData)('DICOM-SEG export checked by dicom3tools and pydicom', () => {
  const py = debianPythonWith('pydicom') && debianPythonWith('nibabel');

  test.each(SOURCES.map((s, i) => [s.name, s.folder, i] as const))(
    '%s: valid SEG, every frame on the right source slice',
    async (_name, folder, i) => {
      const ref = dicomDir(folder);
      const volume = await importSeries(await scanDicomFolder(ref), undefined);
      const mask = twoStructureMask(volume);
      const maskPath = join(dir, `mask-${i}.nii.gz`);
      await writeNifti(maskPath, mask, { intent: 'label' });
      const out = join(dir, `seg-${i}.dcm`);
      // Read the mask back from disk, as the CLI does: the float32 affine of the file must still map.
      const result = await exportSeg(await readNifti(maskPath), maskPath, ref, out, {
        segments: [
          { label: 'Left-Hippocampus', value: 17 },
          { label: 'Right-Thalamus', value: 53 },
        ],
      });
      expect(result.segments.map((s) => s.code)).toEqual(['SCT 5366008 Hippocampus', 'SCT 119406000 Thalamus']);

      const v = dciodvfy(out);
      expect(v.errors, v.output).toEqual([]);
      const unexplained = v.warnings.filter((w) => !ACCEPTED_WARNINGS.some((re) => re.test(w)));
      expect(unexplained, v.output).toEqual([]);
      const sources = plainSources(ref, String(i));
      // An inherited warning must really come from the source.
      if (v.warnings.length) expect(dciodvfy(sources[0]).warnings.some((w) => ACCEPTED_WARNINGS.some((re) => re.test(w)))).toBe(true);
      const e = dcentvfy(out, sources);
      expect(e.errors, e.output).toEqual([]);
      const sourceErrors = dciodvfy(sources[0]).errors;
      const explained = (w: string) => UNAVOIDABLE_ENTITY_WARNINGS.some((u) => u.warning.test(w) && sourceErrors.some((s) => u.sourceError.test(s)));
      expect(
        e.warnings.filter((w) => !explained(w)),
        e.output,
      ).toEqual([]);

      // dcmtk reads the whole file back without complaint.
      const dump = spawnSync('dcmdump', ['-q', '-dc', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (dump.error) throw new Error('dcmdump not found: install dcmtk (scripts/setup.sh --with-test-deps)');
      expect(dump.status, dump.stderr).toBe(0);
      expect(dump.stderr).toBe('');
      expect(dump.stdout).toMatch(/\(0008,0016\) UI =SegmentationStorage/);

      if (!py) throw new Error('Debian python3-pydicom and python3-nibabel are needed (scripts/setup.sh --with-test-deps)');
      const r = spawnSync('/usr/bin/python3', [CHECK_SEG_PY, out, maskPath, ...sources], { encoding: 'utf8', maxBuffer: 16 << 20 });
      expect(r.status, r.stderr).toBe(0);
      const check = JSON.parse(r.stdout);
      expect(check).toMatchObject({ badRefs: 0, badPositions: 0, badPixels: 0, bitsAllocated: 1, type: 'BINARY', sopClass: '1.2.840.10008.5.1.4.1.1.66.4' });
      expect(check.checked).toBe(result.frames);
      expect(check.segmentValues).toEqual({ 'Left-Hippocampus': 17, 'Right-Thalamus': 53 });
      // All of each structure is in the SEG: set pixels equal the mask's voxel count.
      for (const [segVoxels, maskVoxels] of Object.values(check.voxels) as [number, number][]) expect(segVoxels).toBe(maskVoxels);
    },
    120_000,
  );

  test("a mask made on dcm2niix's conversion (other axis order and flips) maps to the right frames", async () => {
    // dcm2niix stores the GE series with flipped axes relative to our importer: the SEG must follow world
    // positions, not voxel order, or the structures land mirrored.
    if (!py) throw new Error('Debian python3-pydicom and python3-nibabel are needed (scripts/setup.sh --with-test-deps)');
    const ref = dicomDir(SOURCES[0].folder);
    const dcm2niix = await readNifti(dicomDir('ge-3d-t1-mprage/Ref_generated/5_3D_Ax_T1_MP-RAGE_R22.nii.gz'));
    const ours = await importSeries(await scanDicomFolder(ref), undefined);
    expect(
      dcm2niix.affine[0][0] * ours.affine[0][0] < 0 || dcm2niix.affine[1][1] * ours.affine[1][1] < 0 || dcm2niix.affine[2][2] * ours.affine[2][2] < 0,
    ).toBe(true);
    const maskPath = join(dir, 'mask-dcm2niix.nii.gz');
    await writeNifti(maskPath, twoStructureMask(dcm2niix), { intent: 'label' });
    const out = join(dir, 'seg-dcm2niix.dcm');
    await exportSeg(await readNifti(maskPath), maskPath, ref, out, {
      segments: [
        { label: 'Left-Hippocampus', value: 17 },
        { label: 'Right-Thalamus', value: 53 },
      ],
    });
    expect(dciodvfy(out).errors).toEqual([]);
    const r = spawnSync('/usr/bin/python3', [CHECK_SEG_PY, out, maskPath, ...readdirSync(ref).map((f) => join(ref, f))], {
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    });
    expect(r.status, r.stderr).toBe(0);
    const check = JSON.parse(r.stdout);
    expect(check).toMatchObject({ badRefs: 0, badPositions: 0, badPixels: 0 });
    for (const [segVoxels, maskVoxels] of Object.values(check.voxels) as [number, number][]) expect(segVoxels).toBe(maskVoxels);
  }, 120_000);

  test('a mask whose grid does not match the reference is refused, nothing written', async () => {
    const ref = dicomDir(SOURCES[0].folder);
    const volume = await importSeries(await scanDicomFolder(ref), undefined);
    const out = join(dir, 'mismatch.dcm');
    const shifted = twoStructureMask(volume);
    shifted.affine = volume.affine.map((r) => r.slice());
    shifted.affine[0][3] += 0.4; // less than a voxel: still a different grid
    await expect(exportSeg(shifted, 'shifted.nii.gz', ref, out)).rejects.toThrow(/shifted\.nii\.gz: grid does not match the reference series/);
    const small = { ...twoStructureMask(volume), dims: [volume.dims[0], volume.dims[1], volume.dims[2] - 1] };
    small.data = small.data.subarray(0, small.dims[0] * small.dims[1] * small.dims[2]);
    await expect(exportSeg(small, 'small.nii.gz', ref, out)).rejects.toThrow(
      /small\.nii\.gz: grid does not match the reference series: mask is 256×256×129, the series is 256×256 pixels × 130 frames/,
    );
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  test('a reference folder with two series asks for one; a mosaic series is refused with the reason', async () => {
    const volume = await importSeries(await scanDicomFolder(dicomDir(SOURCES[2].folder)), undefined);
    const out = join(dir, 'two.dcm');
    const err = await exportSeg(twoStructureMask(volume), 'm.nii.gz', dicomDir('siemens-xa30-enhanced/In'), out).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/siemens-xa30-enhanced\/In: holds 2 series; pick the reference with --series UID/);
    expect(existsSync(out)).toBe(false);
    const mosaic = await exportSeg(twoStructureMask(volume), 'm.nii.gz', dicomDir('siemens-mosaic-epi/In/mr_0003'), out).catch((e) => e);
    expect(mosaic.message).toMatch(/cannot carry a DICOM-SEG: Siemens mosaic/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});

describe('DICOM-SEG terminology and availability', () => {
  test('common brain structures get SNOMED CT codes and laterality; others a generic code', () => {
    expect(terminologyFor('Left-Hippocampus')).toMatchObject({
      type: { CodeValue: '5366008', CodingSchemeDesignator: 'SCT' },
      modifier: { CodeValue: '7771000' },
    });
    expect(terminologyFor('right thalamus').modifier?.CodeMeaning).toBe('Right');
    expect(terminologyFor('Left-Lateral-Ventricle').type.CodeValue).toBe('66720007');
    expect(terminologyFor('Left-Inf-Lat-Vent').type.CodeValue).toBe('53118009');
    expect(terminologyFor('Brain-Stem').type.CodeValue).toBe('119238007');
    expect(terminologyFor('Left-Cerebellum-White-Matter').type.CodeValue).toBe('33060004');
    expect(terminologyFor('lesion')).toMatchObject({ category: { CodeValue: '49755003' }, type: { CodeValue: '52988006', CodeMeaning: 'Lesion' } });
    expect(terminologyFor('whole tumour').type).toMatchObject({ CodeValue: '108369006', CodeMeaning: 'Neoplasm' });
    expect(terminologyFor('white matter lesion').type.CodeMeaning).toBe('Lesion');
    expect(terminologyFor('stroke').type.CodeMeaning).toBe('Infarct');
    expect(terminologyFor('Label 1', 'lesion')).toMatchObject({
      category: { CodeMeaning: 'Morphologically Altered Structure' },
      type: { CodeMeaning: 'Lesion' },
    });
    expect(terminologyFor('Label 1')).toMatchObject({ category: { CodeValue: '85756007' }, type: { CodeMeaning: 'Tissue' } });
  });

  test('a NIfTI target explains why DICOM-SEG needs a DICOM source', () => {
    expect(segUnavailableReason({ source: { kind: 'nifti' } } as never)).toMatch(/DICOM-SEG needs a DICOM source/);
    expect(segUnavailableReason({ source: { kind: 'dicom' } } as never)).toBeNull();
  });
});
