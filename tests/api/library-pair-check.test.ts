import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { createWorkstation, type Workstation } from '../../main/api/handlers.js';
import type { VolumeInfo } from '../../main/api/types.js';
import { encodeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { tempDir } from '../helpers/tmp.js';

// checkLibraryPair lets the Library panel warn before an add; it must say exactly what the library's
// add would refuse, so each case is also tried with addLibraryPair on a real library.
const dataDir = tempDir();
let ws: Workstation;
let t1: VolumeInfo;
let aal: VolumeInfo;

/** Bytes of a NIfTI file, as the renderer uploads a picked file. */
function niftiFile(name: string, v: Partial<Volume> & { dims: number[] }): { name: string; data: Uint8Array } {
  const n = v.dims.reduce((a, b) => a * b, 1);
  const volume: Volume = {
    spacing: v.dims.map(() => 1),
    affine: [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ],
    data: new Uint8Array(n).fill(37),
    slope: 1,
    intercept: 0,
    description: 'test',
    source: { kind: 'memory' },
    ...v,
  };
  return { name, data: encodeNifti(volume) };
}

async function openUnremembered(file: { name: string; data: Uint8Array }): Promise<VolumeInfo> {
  const r = await ws.api.openFiles([file], { role: 'label', remember: false });
  if (r.kind !== 'volume') throw new Error('expected a volume');
  return r.volume;
}

const pair = (label: VolumeInfo) => ({
  set: 'check',
  task: { name: 'hippocampus', labels: [37] },
  scanner: 'test',
  imageVolumeId: t1.id,
  labelVolumeId: label.id,
});

beforeAll(async () => {
  ws = createWorkstation({ mode: 'headless', version: 'test', dataDir, libraryDir: join(dataDir, 'library') });
  [t1, aal] = await ws.api.openSample();
});

describe('checkLibraryPair', () => {
  test('a label on the image grid passes, with both grids described', async () => {
    const check = await ws.api.checkLibraryPair(t1.id, aal.id);
    expect(check).toEqual({
      problem: null,
      image: { name: t1.name, dims: [181, 217, 181], spacing: t1.spacing.slice(0, 3) },
      label: { name: aal.name, dims: [181, 217, 181], spacing: aal.spacing.slice(0, 3) },
    });
  });

  test('a wrong-size label file is named with both sizes, and the library refuses it with the same words', async () => {
    const small = await openUnremembered(niftiFile('small-label.nii', { dims: [10, 10, 10] }));
    const check = await ws.api.checkLibraryPair(t1.id, small.id);
    expect(check.problem).toBe(`small-label.nii: grid 10×10×10 does not match the image's 181×217×181 (${t1.name}); resample the label onto the image first`);
    expect(check.label.dims).toEqual([10, 10, 10]);
    await expect(ws.api.addLibraryPair(pair(small))).rejects.toThrow(check.problem!);
  });

  test('the same size on a shifted grid is a mismatch too', async () => {
    const shifted = await openUnremembered(
      niftiFile('shifted.nii', { dims: aal.dims.slice(0, 3), affine: aal.affine.map((row, r) => row.map((x, c) => (c === 3 && r === 0 ? x + 2 : x))) }),
    );
    const check = await ws.api.checkLibraryPair(t1.id, shifted.id);
    expect(check.problem).toMatch(/^shifted\.nii: voxel-to-world transform differs from the image's by up to 2\.00 mm/);
    await expect(ws.api.addLibraryPair(pair(shifted))).rejects.toThrow(check.problem!);
  });

  test('a time series is not a pair half', async () => {
    const series = await openUnremembered(niftiFile('series.nii', { dims: [4, 4, 4, 2] }));
    const check = await ws.api.checkLibraryPair(t1.id, series.id);
    expect(check.problem).toBe('series.nii: has 4-D dims 4×4×4×2: a context pair needs single 3-D volumes');
  });

  test('files opened with remember: false leave no recent-files entry and no cached copy', async () => {
    const recent = await ws.api.recentFiles();
    expect(recent.map((r) => r.name)).not.toContain('small-label.nii');
    expect(existsSync(join(dataDir, 'imports'))).toBe(false);
    // An ordinary open still remembers (the option is what keeps the pair's files out).
    await ws.api.openFiles([niftiFile('remembered.nii', { dims: [4, 4, 4] })]);
    expect((await ws.api.recentFiles()).map((r) => r.name)).toContain('remembered.nii');
  });

  test('unknown volume ids are refused', async () => {
    await expect(ws.api.checkLibraryPair(t1.id, 'nope')).rejects.toThrow(/no open volume with id nope/);
  });
});
