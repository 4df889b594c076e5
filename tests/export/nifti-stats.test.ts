import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { exportImageNifti, exportMaskNifti } from '../../main/export/nifti-export.js';
import { statsCsv, volumeStats, writeStatsCsv } from '../../main/export/stats.js';
import { importSeries, readNifti, scanDicomFolder, type Volume } from '../../main/imaging/index.js';
import { ROOT } from '../helpers/cli.js';
import { debianPythonWith, runPython } from '../helpers/python.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoStructureMask } from './masks.js';

const dir = tempDir('neuroverse-nifti-export-');

const NIBABEL_READ = `
import sys, json, numpy as np, nibabel as nib
img = nib.load(sys.argv[1]); h = img.header
d = np.asarray(img.dataobj)
print(json.dumps({"s": h.get_sform().tolist(), "q": h.get_qform().tolist(), "sc": int(h["sform_code"]), "qc": int(h["qform_code"]),
  "intent": int(h["intent_code"]), "descrip": h["descrip"].tobytes().rstrip(b"\\0").decode(), "dtype": str(h.get_data_dtype()),
  "slope": float(img.dataobj.slope), "inter": float(img.dataobj.inter),
  "shape": list(d.shape), "sum": float(np.asarray(img.dataobj, dtype=np.float64).sum()), "hash": int((np.asarray(d, dtype=np.int64).ravel(order="F") * (np.arange(d.size) % 7 + 1)).sum()) }))`;

function weightedSum(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * ((i % 7) + 1);
  return s;
}

function expectAffine(m: number[][], affine: number[][]) {
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) expect(Math.abs(m[i][j] - affine[i][j])).toBeLessThan(1e-5);
}

const py = debianPythonWith('nibabel');

describe('NIfTI export read back by nibabel', () => {
  const targets: [string, () => Promise<Volume>][] = [
    ['Colin27 sample (MNI, sform 4)', () => readNifti(join(ROOT, 'resources/sample/colin27_t1.nii.gz'))],
    ...(hasSharedData
      ? ([['GE oblique DICOM series', async () => importSeries(await scanDicomFolder(dicomDir('ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22')), undefined)]] as [
          string,
          () => Promise<Volume>,
        ][])
      : []),
  ];

  test.each(targets)('%s: mask keeps the target grid, intent label, uint8, exact labels', async (_name, load) => {
    if (!py) throw new Error('Debian python3-nibabel is needed (scripts/setup.sh --with-test-deps)');
    const target = await load();
    const mask = twoStructureMask(target);
    const out = join(dir, `mask-${_name.length}.nii.gz`);
    await exportMaskNifti(out, target, mask.data, { description: 'hippocampus by Neuroverse3D' });
    const r = JSON.parse(runPython(py, NIBABEL_READ, [out]));
    expectAffine(r.s, target.affine);
    expectAffine(r.q, target.affine);
    const sform = target.xformCodes?.sform || 1;
    expect(r.sc).toBe(sform);
    expect(r.qc).toBe(target.xformCodes?.qform || sform);
    expect(r.intent).toBe(1002);
    expect(r.dtype).toBe('uint8');
    expect(r.slope).toBe(1);
    expect(r.inter).toBe(0);
    expect(r.descrip).toBe('hippocampus by Neuroverse3D');
    expect(r.shape).toEqual(target.dims.slice(0, 3));
    expect(r.hash).toBe(weightedSum(mask.data));
  });

  test.each(targets)('%s: generated image keeps its scl_slope/scl_inter and the target geometry', async (_name, load) => {
    if (!py) throw new Error('Debian python3-nibabel is needed (scripts/setup.sh --with-test-deps)');
    const target = await load();
    const n = target.dims[0] * target.dims[1] * target.dims[2];
    const data = new Int16Array(n);
    for (let i = 0; i < n; i++) data[i] = ((i * 7919) % 4000) - 1000;
    const image: Volume = { ...target, dims: target.dims.slice(0, 3), data, slope: 0.25, intercept: 10, description: 'restored', source: { kind: 'memory' } };
    const out = join(dir, `image-${_name.length}.nii`);
    await exportImageNifti(out, target, image);
    const r = JSON.parse(runPython(py, NIBABEL_READ, [out]));
    expectAffine(r.s, target.affine);
    expectAffine(r.q, target.affine);
    expect(r.dtype).toBe('int16');
    expect(r.slope).toBe(0.25);
    expect(r.inter).toBe(10);
    expect(r.intent).toBe(0);
    let realSum = 0;
    for (let i = 0; i < n; i++) realSum += data[i] * 0.25 + 10;
    expect(Math.abs(r.sum - realSum) / Math.abs(realSum)).toBeLessThan(1e-9);
  });

  test('a mask on another grid is refused and nothing is written; an existing file is kept', async () => {
    const target = await readNifti(join(ROOT, 'resources/sample/colin27_t1.nii.gz'));
    const other: Volume = { ...twoStructureMask(target), affine: target.affine.map((r, i) => r.map((x, j) => (i === 0 && j === 3 ? x + 1 : x))) };
    const out = join(dir, 'other.nii.gz');
    await expect(exportMaskNifti(out, target, other)).rejects.toThrow(/other\.nii\.gz: mask grid .* does not match the target's/);
    await expect(readNifti(out)).rejects.toThrow(/no such file/);
    writeFileSync(out, 'keep');
    await expect(exportMaskNifti(out, target, twoStructureMask(target))).rejects.toThrow(/already exists/);
    expect(readFileSync(out, 'utf8')).toBe('keep');
  });
});

describe('volume statistics', () => {
  test('voxel counts and mL from the affine determinant; CSV quoted and atomic', async () => {
    const target = await readNifti(join(ROOT, 'resources/sample/colin27_t1.nii.gz'));
    const mask = twoStructureMask(target);
    mask.affine = mask.affine.map((r) => r.slice());
    mask.affine[0][0] *= 2; // 2 mm³ voxels
    let n17 = 0;
    let n53 = 0;
    for (const v of mask.data) {
      if (v === 17) n17++;
      else if (v === 53) n53++;
    }
    const stats = volumeStats(mask, { 17: 'Left-Hippocampus', 53: 'Thalamus, "right"' });
    expect(stats.voxelVolumeMm3).toBeCloseTo(2, 9);
    expect(stats.structures).toEqual([
      { value: 17, name: 'Left-Hippocampus', voxels: n17, volumeMl: (n17 * 2) / 1000 },
      { value: 53, name: 'Thalamus, "right"', voxels: n53, volumeMl: (n53 * 2) / 1000 },
    ]);
    const csv = statsCsv(stats);
    expect(csv.split('\r\n')[0]).toBe('structure,label,voxels,volume_ml');
    expect(csv.split('\r\n')[2]).toBe(`"Thalamus, ""right""",53,${n53},${((n53 * 2) / 1000).toFixed(4)}`);
    const out = join(dir, 'stats.csv');
    await writeStatsCsv(out, stats);
    expect(readFileSync(out, 'utf8')).toBe(csv);
    await expect(writeStatsCsv(out, stats)).rejects.toThrow(/already exists/);
  });
});
