import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { exportSeg } from '../../main/export/seg/index.js';
import { displayColourLab } from '../../main/export/seg/terminology.js';
import { dicomLabToRgb } from '../../main/imaging/dicom/seg.js';
import {
  importSegOnScan,
  importSeries,
  readDicomFile,
  readNifti,
  readSeg,
  scanDicomFolder,
  segsBesideSeries,
  seriesSummaries,
  writeNifti,
  type Volume,
} from '../../main/imaging/index.js';
import { twoStructureMask } from '../export/masks.js';
import { debianPythonWith } from '../helpers/python.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { spawnSync } from 'node:child_process';

const dir = tempDir('neuroverse-seg-read-');
const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';
const MAKE_SEG = join(import.meta.dirname, 'make_seg.py');

const SOURCES = [
  { name: 'GE classic, oblique', folder: GE },
  { name: 'Philips classic, gzipped files', folder: 'philips-3d-t1-gzipped/In/cl' },
  { name: 'Siemens XA30 enhanced, series 5', folder: 'siemens-xa30-enhanced/In/5_anat-T1w_acq-tfl' },
];

/** Voxels where two label maps differ. */
function differences(a: Volume, b: Volume): number {
  let n = 0;
  for (let i = 0; i < a.data.length; i++) if (Math.round(a.data[i] * a.slope + a.intercept) !== Math.round(b.data[i] * b.slope + b.intercept)) n++;
  return n;
}

test('CIELab from the SEG becomes the sRGB it was made from', () => {
  // Pure sRGB red, green and blue in DICOM's scaled CIELab (L* 0..100, a* b* −128..127 → 0..65535).
  const scaled = (L: number, a: number, b: number) =>
    [Math.round((L / 100) * 65535), Math.round(((a + 128) / 255) * 65535), Math.round(((b + 128) / 255) * 65535)] as [number, number, number];
  expect(dicomLabToRgb(scaled(53.2408, 80.0925, 67.2032))).toEqual([255, 0, 0]);
  expect(dicomLabToRgb(scaled(87.7347, -86.1827, 83.1793))).toEqual([0, 255, 0]);
  expect(dicomLabToRgb(scaled(32.297, 79.1875, -107.8602))).toEqual([0, 0, 255]);
  expect(dicomLabToRgb(scaled(100, 0, 0))).toEqual([255, 255, 255]);
  // Our export's first colour is HSL(0°, 70 %, 50 %) = #d92626.
  const [r, g, b] = dicomLabToRgb(displayColourLab(0));
  expect(Math.abs(r - 217) + Math.abs(g - 38) + Math.abs(b - 38)).toBeLessThanOrEqual(3);
});

describe.skipIf(!hasSharedData)('reading DICOM-SEG on real series', () => {
  test.each(SOURCES.map((s, i) => [s.name, s.folder, i] as const))(
    '%s: our SEG reads back as the same mask, voxel for voxel',
    async (_name, folder, i) => {
      const ref = dicomDir(folder);
      const scan = await scanDicomFolder(ref);
      const image = await importSeries(scan, undefined);
      const maskPath = join(dir, `mask-${i}.nii.gz`);
      await writeNifti(maskPath, twoStructureMask(image), { intent: 'label' });
      const mask = await readNifti(maskPath);
      const out = join(dir, `ours-${i}.dcm`);
      await exportSeg(mask, maskPath, ref, out, {
        segments: [
          { label: 'Left-Hippocampus', value: 17 },
          { label: 'Right-Thalamus', value: 53 },
        ],
      });

      const { labelMap, seriesUid } = await importSegOnScan(await readDicomFile(out), scan);
      expect(seriesUid).toBe(image.source.seriesInstanceUid);
      expect(labelMap.volume.dims).toEqual(mask.dims.slice(0, 3));
      expect(labelMap.volume.affine).toEqual(image.affine);
      expect(differences(labelMap.volume, mask)).toBe(0);
      expect(labelMap.placedBy).toBe('source images');
      expect(labelMap.valuesFrom).toBe('recorded values');
      expect(labelMap.overlapVoxels).toBe(0);
      expect(labelMap.segments.map((s) => [s.number, s.value, s.name])).toEqual([
        [1, 17, 'Left-Hippocampus'],
        [2, 53, 'Right-Thalamus'],
      ]);
      expect(labelMap.segments.map((s) => s.color)).toEqual([0, 1].map((n) => dicomLabToRgb(displayColourLab(n))));
      expect(labelMap.volume.labels?.map((l) => l.name)).toEqual(['Left-Hippocampus', 'Right-Thalamus']);
    },
    120_000,
  );

  test('a SEG in the folder of its series is recognised as a SEG, not offered as a series, and opens on it', async () => {
    const folder = join(dir, 'study');
    mkdirSync(folder);
    for (const f of readdirSync(dicomDir(GE))) copyFileSync(join(dicomDir(GE), f), join(folder, f));
    copyFileSync(join(dir, 'ours-0.dcm'), join(folder, 'seg.dcm'));
    const scan = await scanDicomFolder(folder);
    expect(seriesSummaries(scan)).toHaveLength(1);
    expect(seriesSummaries(scan)[0].modality).toBe('MR');
    expect(scan.segs.map((h) => h.file.name)).toEqual(['seg.dcm']);
    const image = await importSeries(scan, undefined);
    const { maps, problems } = segsBesideSeries(scan, image);
    expect(problems).toEqual([]);
    expect(maps).toHaveLength(1);
    expect(differences(maps[0].volume, await readNifti(join(dir, 'mask-0.nii.gz')))).toBe(0);
  }, 120_000);
});

describe.skipIf(!hasSharedData || !debianPythonWith('numpy') || !debianPythonWith('pydicom'))('a foreign SEG made by hand with pydicom', () => {
  let image: Volume;
  let expected: Uint8Array;
  let overlap = 0;
  let specBase: Record<string, unknown>;

  /** Writes a SEG with make_seg.py; returns its path. */
  function makeSeg(name: string, options: Record<string, unknown>): string {
    const out = join(dir, `${name}.dcm`);
    const specPath = join(dir, `${name}.json`);
    writeFileSync(specPath, JSON.stringify({ ...specBase, ...options, out }));
    const r = spawnSync('/usr/bin/python3', [MAKE_SEG, specPath], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`make_seg.py failed: ${r.stderr}`);
    return out;
  }

  test('setup: the GE series and a mask with three segments, one overlapping another', async () => {
    image = await importSeries(await scanDicomFolder(dicomDir(GE)), undefined);
    const mask = twoStructureMask(image);
    const [nx, ny] = image.dims;
    const maskPath = join(dir, 'hand-mask.raw');
    writeFileSync(maskPath, mask.data as Uint8Array);
    // Numbered unlike the mask values: 1 = the box (53), 2 = the ball (17), 3 = the ball's left part (overlaps 2).
    const leftOf = Math.round(nx * 0.35);
    specBase = {
      dims: image.dims,
      mask: maskPath,
      sources: image.source.instances!.map((inst, k) => ({ path: inst.path, k })),
      segments: [
        { number: 1, label: 'Box', values: [53], lab: [34891, 53480, 50167] },
        { number: 2, label: 'Ball', values: [17] },
        { number: 3, label: 'Ball, left part', values: [17], left_of: leftOf },
      ],
    };
    expected = new Uint8Array(mask.data.length);
    for (let v = 0; v < expected.length; v++) {
      const m = mask.data[v];
      const i = v % nx;
      if (m === 53) expected[v] = 1;
      else if (m === 17 && i < leftOf) {
        expected[v] = 3;
        overlap++;
      } else if (m === 17) expected[v] = 2;
    }
    expect(overlap).toBeGreaterThan(100);
    expect(ny).toBe(256);
  }, 60_000);

  test('binary, frames shuffled, placed by plane position only (no source references): the right voxels', async () => {
    const seg = readSeg(await readDicomFile(makeSeg('hand-binary', {})));
    expect(seg.frames.every((f) => !f.source && f.plane)).toBe(true);
    const { labelMap } = await importSegOnScan(await readDicomFile(join(dir, 'hand-binary.dcm')), await scanDicomFolder(dicomDir(GE)));
    expect(labelMap.placedBy).toBe('plane positions');
    expect(labelMap.valuesFrom).toBe('segment numbers');
    expect(labelMap.overlapVoxels).toBe(overlap);
    expect(differences(labelMap.volume, { ...image, data: expected, slope: 1, intercept: 0 })).toBe(0);
    expect(labelMap.segments.map((s) => [s.value, s.name])).toEqual([
      [1, 'Box'],
      [2, 'Ball'],
      [3, 'Ball, left part'],
    ]);
    expect(labelMap.segments[0].color).toEqual([255, 0, 0]);
    expect(labelMap.volume.source.note).toMatch(new RegExp(`^${overlap} voxels belong to several segments`));
  }, 60_000);

  test('fractional with source image references: thresholded at 50 %, placed through the referenced images', async () => {
    const path = makeSeg('hand-fractional', { fractional: true, derivation: true });
    const { labelMap } = await importSegOnScan(await readDicomFile(path), await scanDicomFolder(dicomDir(GE)));
    expect(labelMap.placedBy).toBe('source images');
    expect(differences(labelMap.volume, { ...image, data: expected, slope: 1, intercept: 0 })).toBe(0);
  }, 60_000);

  test('frames half a pixel off the grid, an unknown source image, another frame of reference: refused naming the file', async () => {
    const scan = await scanDicomFolder(dicomDir(GE));
    const shifted = makeSeg('hand-shifted', { shift_mm: 0.45 });
    await expect(importSegOnScan(await readDicomFile(shifted), scan)).rejects.toThrow(
      /hand-shifted\.dcm: frame \d+ does not fit the grid of series [\d.]+: its first pixel falls at voxel/,
    );
    const bogus = makeSeg('hand-bogus', { derivation: true, bogus_instance: '1.2.3.4.5' });
    await expect(importSegOnScan(await readDicomFile(bogus), scan)).rejects.toThrow(
      /hand-bogus\.dcm: frame \d+ references image 1\.2\.3\.4\.5, which is not in series/,
    );
    const elsewhere = makeSeg('hand-for', { referenced_series: false, frame_of_reference: '1.2.3.999' });
    await expect(importSegOnScan(await readDicomFile(elsewhere), scan)).rejects.toThrow(
      /hand-for\.dcm: names no referenced series, and no series of .* share its frame of reference 1\.2\.3\.999/,
    );
  }, 60_000);

  test('a SEG whose series is not in the folder, and a DICOM image given as a SEG: one clear line each', async () => {
    const philips = await scanDicomFolder(dicomDir('philips-3d-t1-gzipped/In/cl'));
    await expect(importSegOnScan(await readDicomFile(join(dir, 'hand-binary.dcm')), philips)).rejects.toThrow(
      /hand-binary\.dcm: its referenced series [\d.]+ is not in .*philips-3d-t1-gzipped\/In\/cl; the series there: /,
    );
    const slice = join(dicomDir(GE), readdirSync(dicomDir(GE))[0]);
    expect(() => readSeg({ name: 'empty.dcm', data: new Uint8Array(0), gunzipped: false })).toThrow(/^empty\.dcm: not a readable DICOM file/);
    const ours = readFileSync(join(dir, 'ours-0.dcm'));
    expect(() => readSeg({ name: 'cut.dcm', data: new Uint8Array(ours.subarray(0, ours.length - 1000)), gunzipped: false })).toThrow(
      /^cut\.dcm: not a readable DICOM file \(damaged or truncated/,
    );
    await expect(readDicomFile(slice).then(readSeg)).rejects.toThrow(
      /i\d+\.MRDC\.\d+: is not a DICOM-SEG \(SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.4, modality MR\)/,
    );
  }, 60_000);
});
