import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { VoxelArray } from '../../main/imaging/volume.js';
import { createWorkstation } from '../../main/api/handlers.js';
import type { OpenedVolume } from '../../main/api/types.js';
import { exportSeg } from '../../main/export/seg/index.js';
import { importSeries, scanDicomFolder, writeNifti } from '../../main/imaging/index.js';
import { twoStructureMask } from '../export/masks.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('neuroverse-seg-api-');
const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';

describe.skipIf(!hasSharedData)('opening a DICOM-SEG through the API', () => {
  const seg = join(dir, 'seg.dcm');
  const study = join(dir, 'study');
  let mask: Uint8Array;
  const same = (a: VoxelArray, b: Uint8Array) =>
    a instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

  test('setup: a SEG of the GE series, and a study folder holding both', async () => {
    const image = await importSeries(await scanDicomFolder(dicomDir(GE)), undefined);
    const m = twoStructureMask(image);
    mask = m.data as Uint8Array;
    await writeNifti(join(dir, 'mask.nii.gz'), m, { intent: 'label' });
    await exportSeg(m, 'mask', dicomDir(GE), seg, {
      segments: [
        { label: 'Left-Hippocampus', value: 17 },
        { label: 'Right-Thalamus', value: 53 },
      ],
    });
    mkdirSync(study);
    for (const f of readdirSync(dicomDir(GE))) copyFileSync(join(dicomDir(GE), f), join(study, f));
    copyFileSync(seg, join(study, 'seg.dcm'));
  }, 120_000);

  test('a folder with the series and its SEG opens the image with the SEG as a named, coloured label overlay', async () => {
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: join(dir, 'data1') });
    const r = (await ws.openPath(study)) as OpenedVolume;
    expect(r.kind).toBe('volume');
    expect(r.volume.role).toBe('image');
    expect(r.problems).toBeUndefined();
    expect(r.overlays).toHaveLength(1);
    const overlay = r.overlays![0];
    expect(overlay.role).toBe('label');
    expect(overlay.name).toMatch(/^seg\.dcm · SEG /);
    expect(overlay.labels).toEqual([
      { value: 17, name: 'Left-Hippocampus', color: [217, 38, 38] },
      { value: 53, name: 'Right-Thalamus', color: expect.any(Array) },
    ]);
    expect(overlay.affine).toEqual(r.volume.affine);
    expect(same(ws.volumes.get(overlay.id).data, mask)).toBe(true);
  }, 120_000);

  test('uploaded files: the series and SEG together, then a SEG alone on the open series; a SEG without its series is refused', async () => {
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: join(dir, 'data2') });
    const blobs = readdirSync(study).map((f) => ({ name: `study/${f}`, data: new Uint8Array(readFileSync(join(study, f))) }));
    const alone = [{ name: 'seg.dcm', data: new Uint8Array(readFileSync(seg)) }];
    await expect(ws.api.openFiles(alone)).rejects.toThrow(
      /^seg\.dcm: references series [\d.]+, which is not open: open that series first, or the folder that holds both$/,
    );

    const r = (await ws.api.openFiles(blobs)) as OpenedVolume;
    expect(r.overlays?.map((o) => o.labels?.map((l) => l.name))).toEqual([['Left-Hippocampus', 'Right-Thalamus']]);
    const again = (await ws.api.openFiles(alone, { role: 'label' })) as OpenedVolume;
    expect(again.volume.role).toBe('label');
    expect(again.volume.labels?.map((l) => l.value)).toEqual([17, 53]);
    expect(same(ws.volumes.get(again.volume.id).data, mask)).toBe(true);

    const notSeg = [{ name: 'notes.dcm', data: new TextEncoder().encode('not DICOM') }];
    await expect(ws.api.openFiles(notSeg)).rejects.toThrow(/no DICOM images found/);
  }, 120_000);
});
