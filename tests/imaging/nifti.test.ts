import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { encodeNifti, parseNifti, readNifti, writeNifti, type Volume } from '../../main/imaging/index.js';
import { affineToQform, qformToAffine } from '../../main/imaging/nifti/quaternion.js';
import { debianPythonWith, runPython } from '../helpers/python.js';
import { tempDir } from '../helpers/tmp.js';

const SAMPLE = join(import.meta.dirname, '../../resources/sample/colin27_t1.nii.gz');
const dir = tempDir();

/** An oblique, left-handed grid with unequal voxel sizes: the case where qform and sform can disagree. */
function obliqueVolume(): Volume {
  const a = (20 * Math.PI) / 180;
  const b = (-7 * Math.PI) / 180;
  const [sx, sy, sz] = [0.9375, 1.1, 2.4];
  const R = [
    [Math.cos(a), -Math.sin(a) * Math.cos(b), Math.sin(a) * Math.sin(b)],
    [Math.sin(a), Math.cos(a) * Math.cos(b), -Math.cos(a) * Math.sin(b)],
    [0, Math.sin(b), Math.cos(b)],
  ];
  const affine = [
    [-R[0][0] * sx, R[0][1] * sy, R[0][2] * sz, 101.25],
    [-R[1][0] * sx, R[1][1] * sy, R[1][2] * sz, -87.5],
    [-R[2][0] * sx, R[2][1] * sy, R[2][2] * sz, -42.75],
    [0, 0, 0, 1],
  ];
  const dims = [7, 5, 3];
  const data = new Int16Array(7 * 5 * 3).map((_, i) => ((i * 37) % 1000) - 300);
  return { dims, spacing: [sx, sy, sz], affine, data, slope: 0.5, intercept: -2, description: 'oblique test', source: { kind: 'memory' } };
}

describe('NIfTI writing', () => {
  test('round trip keeps voxels, scaling and the exact affine in both sform and qform', async () => {
    const v = obliqueVolume();
    const path = join(dir, 'oblique.nii.gz');
    await writeNifti(path, v);
    const back = await readNifti(path);
    expect(back.dims).toEqual(v.dims);
    expect(Array.from(back.data)).toEqual(Array.from(v.data));
    expect(back.data).toBeInstanceOf(Int16Array);
    expect(back.slope).toBe(0.5);
    expect(back.intercept).toBe(-2);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) expect(back.affine[r][c]).toBeCloseTo(v.affine[r][c], 4);
    const hdr = nifti.readHeader(gunzipSync(readFileSync(path)).buffer as ArrayBuffer) as nifti.NIFTI1;
    expect(hdr.sform_code).toBe(1);
    expect(hdr.qform_code).toBe(1);
    const q = qformToAffine({
      b: hdr.quatern_b,
      c: hdr.quatern_c,
      d: hdr.quatern_d,
      qfac: hdr.pixDims[0] < 0 ? -1 : 1,
      offset: [hdr.qoffset_x, hdr.qoffset_y, hdr.qoffset_z],
      pixdim: [hdr.pixDims[1], hdr.pixDims[2], hdr.pixDims[3]],
    });
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) expect(q[r][c]).toBeCloseTo(v.affine[r][c], 4);
  });

  test('affine → quaternion → affine is exact for rotations of every handedness', () => {
    for (const signs of [
      [1, 1, 1],
      [-1, 1, 1],
      [1, -1, -1],
      [-1, -1, 1],
    ]) {
      const v = obliqueVolume();
      const m = v.affine.map((row, r) => (r < 3 ? row.map((x, c) => (c < 3 ? x * signs[c] : x)) : row));
      const back = qformToAffine(affineToQform(m));
      for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) expect(back[r][c]).toBeCloseTo(m[r][c], 9);
    }
  });

  const python = debianPythonWith('nibabel');
  test.skipIf(!python)('nibabel reads the same sform, qform and voxels', async () => {
    const v = obliqueVolume();
    const path = join(dir, 'for-nibabel.nii');
    await writeNifti(path, v);
    const out = runPython(
      python!,
      `
import sys, json, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
print(json.dumps({"sform": img.header.get_sform().tolist(), "qform": img.header.get_qform().tolist(),
  "data": img.dataobj.get_unscaled().ravel(order="F").tolist(), "scaled": img.get_fdata().ravel(order="F").tolist()}))`,
      [path],
    );
    const r = JSON.parse(out);
    for (const m of [r.sform, r.qform]) for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expect(Math.abs(m[i][j] - v.affine[i][j])).toBeLessThan(1e-5);
    expect(r.data).toEqual(Array.from(v.data));
    const expected = Array.from(v.data).map((x) => x * 0.5 - 2);
    expect(r.scaled.map((x: number, i: number) => x - expected[i]).filter((d: number) => d !== 0)).toEqual([]);
  });

  test('an existing file is not overwritten unless asked', async () => {
    const path = join(dir, 'keep.nii');
    writeFileSync(path, 'precious');
    await expect(writeNifti(path, obliqueVolume())).rejects.toThrow(/keep\.nii: already exists/);
    expect(readFileSync(path, 'utf8')).toBe('precious');
    await writeNifti(path, obliqueVolume(), { overwrite: true });
    expect((await readNifti(path)).dims).toEqual([7, 5, 3]);
  });

  test('a write into a missing folder fails clearly and leaves no partial file', async () => {
    await expect(writeNifti(join(dir, 'no-such-folder', 'x.nii'), obliqueVolume())).rejects.toThrow(/x\.nii: not written: the folder does not exist/);
  });

  test('encoded bytes start with a valid NIfTI-1 header of 348 bytes', () => {
    const bytes = encodeNifti(obliqueVolume());
    expect(new DataView(bytes.buffer).getInt32(0, true)).toBe(348);
    expect(new TextDecoder().decode(bytes.subarray(344, 347))).toBe('n+1');
  });
});

describe('NIfTI reading', () => {
  test('the bundled sample keeps its MNI sform', async () => {
    const v = await readNifti(SAMPLE);
    expect(v.dims).toEqual([181, 217, 181]);
    expect(v.affine[0]).toEqual([1, 0, 0, -90]);
    expect(v.affine[1]).toEqual([0, 1, 0, -125]);
    expect(v.affine[2]).toEqual([0, 0, 1, -71]);
    expect(v.xformCodes).toEqual({ qform: 0, sform: 4 });
  });

  const raw = gunzipSync(readFileSync(SAMPLE));
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated.nii', raw.subarray(0, raw.length >> 1), /truncated\.nii: truncated: the header promises 181×217×181 voxels/],
    ['tiny.nii', raw.subarray(0, 100), /tiny\.nii: truncated: 100 bytes is shorter than a NIfTI header/],
    ['cut.nii.gz', gzipSync(raw).subarray(0, 50_000), /cut\.nii\.gz: gzip data is corrupt or truncated/],
    ['notnifti.nii', new TextEncoder().encode('hello '.repeat(100)), /notnifti\.nii: not a NIfTI-1 or NIfTI-2 file/],
  ];
  for (const [name, bytes, message] of cases) {
    test(`bad input: ${name}`, async () => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const err = await readNifti(path).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(message);
      expect(err.file).toBe(path);
    });
  }

  test('bad input: a gzip stream with damaged bytes', async () => {
    const gz = gzipSync(raw);
    for (let i = 20_000; i < 20_100; i++) gz[i] ^= 0xff;
    const path = join(dir, 'flipped.nii.gz');
    writeFileSync(path, gz);
    await expect(readNifti(path)).rejects.toThrow(/flipped\.nii\.gz: gzip data is corrupt or truncated/);
  });

  const py = debianPythonWith('nibabel');
  test.skipIf(!py)('NIfTI-2 (written by nibabel, float64 affine, big-endian) reads with the same voxels and affine', async () => {
    const out = join(dir, 'two.nii.gz');
    runPython(
      py!,
      `
import sys, numpy as np, nibabel as nib
data = (np.arange(4*3*2, dtype='>f4').reshape((4, 3, 2), order='F') * 1.5 - 7)
aff = np.array([[0, -1.25, 0, 33.125], [0, 0, 2.5, -10.0625], [-0.8, 0, 0, 7.0], [0, 0, 0, 1]])
img = nib.Nifti2Image(data, aff)
img.header.set_data_dtype('>f4')
nib.save(img, sys.argv[1])`,
      [out],
    );
    const v = await readNifti(out);
    expect(v.source.reader).toBe('nifti-2');
    expect(v.dims).toEqual([4, 3, 2]);
    expect(Array.from(v.data)).toEqual(Array.from({ length: 24 }, (_, i) => i * 1.5 - 7));
    expect(v.affine).toEqual([
      [0, -1.25, 0, 33.125],
      [0, 0, 2.5, -10.0625],
      [-0.8, 0, 0, 7],
      [0, 0, 0, 1],
    ]);
  });

  test('bytes that are a view into a larger buffer (an upload inside an HTTP body) parse correctly', () => {
    const body = Buffer.concat([Buffer.from('prefix-bytes'), raw, Buffer.from('suffix')]);
    const view = body.subarray(12, 12 + raw.length);
    const v = parseNifti(view, 'upload.nii');
    expect(v.dims).toEqual([181, 217, 181]);
    expect(v.data[90 + 181 * (108 + 217 * 90)]).toBe(raw[352 + 90 + 181 * (108 + 217 * 90)]);
  });

  test('bad input: a missing file', async () => {
    await expect(readNifti(join(dir, 'absent.nii'))).rejects.toThrow(/absent\.nii: no such file/);
  });
});
