import dcmjs from 'dcmjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { applyAffine, correctSliceTilt, importSeries, qformDeviationMm, readNifti, scanDicomFolder, sliceTiltDegrees } from '../../main/imaging/index.js';
import { neuroverse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('neuroverse-real-folders-');
const N = 24; // pixels per side
const PS = 1.5; // mm

/** Hounsfield-like values that are a linear function of the world (LPS) position: bilinear resampling keeps them exactly. */
const field = (p: number[]) => 100 + 2 * p[0] + 3 * p[1] + 5 * p[2];

/**
 * A classic CT series written with dcmjs: axial slices (orientation 1,0,0 / 0,1,0) at the given positions, each
 * pixel holding field(its LPS position), so any mistake in where a voxel is placed shows in its value.
 */
function ctSeries(name: string, positions: number[][], echoes = 1): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const study = dcmjs.data.DicomMetaDictionary.uid();
  const series = dcmjs.data.DicomMetaDictionary.uid();
  const slices = positions.flatMap((p) => Array.from({ length: echoes }, (_, e) => ({ p, e })));
  slices.forEach(({ p: exact, e }, k) => {
    const pos = exact.map((x) => Number(x.toFixed(6))); // a DS holds 16 characters
    const px = new Int16Array(N * N);
    // A second echo is the first at half the signal: which volume came back shows in the values.
    for (let r = 0; r < N; r++) for (let c = 0; c < N; c++) px[r * N + c] = Math.round(field([pos[0] + c * PS, pos[1] + r * PS, pos[2]]) / (e + 1));
    const sop = dcmjs.data.DicomMetaDictionary.uid();
    const ds = {
      _meta: {
        MediaStorageSOPClassUID: { Value: ['1.2.840.10008.5.1.4.1.1.2'], vr: 'UI' },
        MediaStorageSOPInstanceUID: { Value: [sop], vr: 'UI' },
        TransferSyntaxUID: { Value: ['1.2.840.10008.1.2.1'], vr: 'UI' },
        ImplementationClassUID: { Value: ['2.25.1'], vr: 'UI' },
      },
      _vrMap: { PixelData: 'OW' },
      SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      SOPInstanceUID: sop,
      StudyInstanceUID: study,
      SeriesInstanceUID: series,
      Modality: echoes > 1 ? 'MR' : 'CT',
      ...(echoes > 1 ? { EchoNumbers: String(e + 1), EchoTime: String(5 + 10 * e) } : {}),
      PatientID: 'SYN',
      SeriesNumber: '3',
      InstanceNumber: String(k + 1),
      ImagePositionPatient: pos,
      ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
      PixelSpacing: [PS, PS],
      SliceThickness: '2.5',
      Rows: N,
      Columns: N,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 1,
      RescaleIntercept: '0',
      RescaleSlope: '1',
      PixelData: px.buffer,
    };
    if (echoes > 1) Object.assign(ds, { SOPClassUID: '1.2.840.10008.5.1.4.1.1.4', ImageType: ['ORIGINAL', 'PRIMARY', 'M'] });
    if (echoes > 1) ds._meta.MediaStorageSOPClassUID.Value = ['1.2.840.10008.5.1.4.1.1.4'];
    writeFileSync(join(dir, `${String(k).padStart(3, '0')}.dcm`), Buffer.from(dcmjs.data.datasetToDict(ds).write()));
  });
  return dir;
}

/** World LPS of a voxel from the volume's RAS affine. */
const lps = (affine: number[][], ijk: number[]) => {
  const [x, y, z] = applyAffine(affine, ijk);
  return [-x, -y, z];
};

describe('real folders: tilted CT, uneven spacing, several volumes in one series', () => {
  // 20 slices 2.5 mm apart along z, each shifted 2.5·tan(20°) mm along y: a 20° gantry tilt.
  const tilt = 20;
  const tilted = () =>
    ctSeries(
      'tilted',
      Array.from({ length: 20 }, (_, k) => [-10, -12 + k * 2.5 * Math.tan((tilt * Math.PI) / 180), -30 + k * 2.5]),
    );

  test('a gantry-tilted CT imports with its tilt in the affine and a note saying so', async () => {
    const v = await importSeries(await scanDicomFolder(tilted()), undefined);
    expect(sliceTiltDegrees(v.affine)).toBeCloseTo(tilt, 3);
    expect(v.source.note).toMatch(/slices tilted by 20\.00° .*gantry tilt.*qform cannot.*up to \d+\.\d mm away/);
    expect(qformDeviationMm(v.affine, v.dims)).toBeGreaterThan(5);
    // Every voxel sits where its slice put it: the value is the field at the affine's position.
    for (const ijk of [
      [0, 0, 0],
      [5, 17, 11],
      [23, 23, 19],
    ])
      expect(v.data[ijk[0] + ijk[1] * N + ijk[2] * N * N]).toBe(Math.round(field(lps(v.affine, ijk))));
  });

  test('tilt correction: an orthogonal grid the qform holds, the same anatomy at the same places', async () => {
    const v = await importSeries(await scanDicomFolder(tilted()), undefined);
    const c = correctSliceTilt(v);
    expect(sliceTiltDegrees(c.affine)).toBeLessThan(1e-9);
    expect(qformDeviationMm(c.affine, c.dims)).toBeLessThan(1e-6);
    expect(c.spacing[2]).toBeCloseTo(2.5, 9);
    expect(c.source.note).toMatch(/tilt of 20\.00° corrected/);
    // Inside the part every slice covers, each corrected voxel holds the field where its new affine puts it.
    let checked = 0;
    for (let k = 0; k < 20; k++)
      for (let j = 0; j < N; j++)
        for (let i = 0; i < N; i++) {
          const shift = (k * 2.5 * Math.tan((tilt * Math.PI) / 180)) / PS; // rows the slice moved along y
          if (j - shift < 0 || j - shift > N - 2) continue;
          const got = c.data[i + j * N + k * N * N];
          expect(Math.abs(got - field(lps(c.affine, [i, j, k])))).toBeLessThan(1.01); // the stored values were rounded
          checked++;
        }
    expect(checked).toBeGreaterThan(2000);
  });

  test('convert warns about the qform of a tilted stack, and --tilt-correct writes one the qform holds', async () => {
    const dir = tilted();
    const plain = join(root, 'tilted.nii.gz');
    const r = neuroverse(['convert', dir, '--out', plain]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*tilted\.nii\.gz: the qform cannot hold this affine's shear.*up to \d+\.\d mm away.*--tilt-correct/);
    const fixed = join(root, 'tilted-fixed.nii.gz');
    const f = neuroverse(['convert', dir, '--out', fixed, '--tilt-correct']);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stderr).not.toMatch(/warning/);
    const back = await readNifti(fixed);
    expect(qformDeviationMm(back.affine, back.dims)).toBeLessThan(1e-3);
  });

  test('spacing that changes in contiguous blocks is named as such', async () => {
    // Ten slices 2.5 mm apart, then ten 5 mm apart (a head CT protocol: thin through the base, thick above).
    const z = [...Array.from({ length: 10 }, (_, k) => k * 2.5), ...Array.from({ length: 10 }, (_, k) => 22.5 + (k + 1) * 5)];
    const dir = ctSeries(
      'blocks',
      z.map((zz) => [-10, -12, zz]),
    );
    await expect(importSeries(await scanDicomFolder(dir), undefined)).rejects.toThrow(
      /blocks: slice spacing changes in contiguous blocks \(2\.500 mm for slices 1–10, 5\.000 mm for slices 10–20\): a variable-spacing acquisition/,
    );
  });

  test('one gap of twice the spacing is a missing slice', async () => {
    const z = Array.from({ length: 12 }, (_, k) => k * 2).filter((zz) => zz !== 10);
    const dir = ctSeries(
      'missing',
      z.map((zz) => [-10, -12, zz]),
    );
    await expect(importSeries(await scanDicomFolder(dir), undefined)).rejects.toThrow(
      /missing: uneven slice spacing \(4\.000 mm between slices 5 and 6, 2\.000 mm elsewhere\): a slice may be missing/,
    );
  });

  test('a series with two echoes: each volume can be picked, by number or name, and the list is shown', async () => {
    const dir = ctSeries(
      'echoes',
      Array.from({ length: 6 }, (_, k) => [-10, -12, k * 3]),
      2,
    );
    const scan = await scanDicomFolder(dir);
    const first = await importSeries(scan, undefined);
    expect(first.source.volumes).toHaveLength(2);
    expect(first.source.volumeIndex).toBe(1);
    const second = await importSeries(scan, undefined, undefined, undefined, undefined, '2');
    expect(second.source.volumeIndex).toBe(2);
    const byName = await importSeries(scan, undefined, undefined, undefined, undefined, first.source.volumes![1]);
    expect(byName.source.volumeIndex).toBe(2);
    // Same voxel of each echo: the second holds half the first's value.
    const at = (v: typeof first, i: number) => v.data[i] * v.slope + v.intercept;
    const i = 5 + 7 * N + 2 * N * N;
    expect(Math.abs(at(second, i) - at(first, i) / 2)).toBeLessThanOrEqual(1);
    await expect(importSeries(scan, undefined, undefined, undefined, undefined, '3')).rejects.toThrow(/volume 3 is not one of this series' 2: 1 .*, 2 /);
    const info = neuroverse(['info', dir]);
    expect(info.stdout).toMatch(/this series makes 2 volumes \(convert --volume N\|NAME\): 1 .*, 2 /);
    const out = join(root, 'echo2.nii.gz');
    const c = neuroverse(['convert', dir, '--out', out, '--volume', '2']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/volume 2 of 2/);
    expect((await readNifti(out)).data.length).toBe(N * N * 6);
  });
});
