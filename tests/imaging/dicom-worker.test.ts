import { afterAll, describe, expect, test } from 'vitest';
import { dicomDecodePool, workerSeriesDecoder } from '../../main/compute/dicom-decode.js';
import type { ComputePool } from '../../main/compute/pool.js';
import type { DicomJobs } from '../../main/compute/dicom-job.js';
import { importSeries, scanDicomFolder } from '../../main/imaging/dicom/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';

const pools: ComputePool<DicomJobs>[] = [];
afterAll(() => Promise.all(pools.map((p) => p.close())));

function decoderOn(pool: ComputePool<DicomJobs>) {
  pools.push(pool);
  return workerSeriesDecoder(() => pool);
}

/** Same voxels (type and value, every one) and the same geometry, description and provenance. */
function expectSameVolume(a: Volume, b: Volume): void {
  const { data: da, ...ra } = a;
  const { data: db, ...rb } = b;
  expect(rb).toEqual(ra);
  expect(db.constructor).toBe(da.constructor);
  expect(db.length).toBe(da.length);
  let differ = 0;
  for (let i = 0; i < da.length; i++) if (da[i] !== db[i]) differ++;
  expect(differ).toBe(0);
}

describe.skipIf(!hasSharedData)('DICOM series decoded in a compute worker', () => {
  const worker = decoderOn(dicomDecodePool(1));

  // One series per reader path: classic native, classic gzipped with float scaling, dcm2niix (enhanced multi-frame).
  for (const dir of ['ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22', 'philips-3d-t1-gzipped/In/cl', 'siemens-xa30-enhanced/In/5_anat-T1w_acq-tfl']) {
    test(`equals the in-thread decode voxel for voxel: ${dir}`, async () => {
      const scan = await scanDicomFolder(dicomDir(dir));
      const here = await importSeries(scan, undefined);
      const there = await importSeries(scan, undefined, undefined, worker);
      expectSameVolume(there, here);
      // The voxels arrived by transfer: a buffer of their own, not a view on the packed files.
      expect(there.data.byteLength).toBe(there.data.buffer.byteLength);
      // The scan keeps its file bytes (the packed copy was what moved): a second decode still works.
      expectSameVolume(await importSeries(scan, undefined, undefined, worker), here);
    });
  }

  test('a worker that dies during a decode fails that decode only, naming the folder; the next decode works', async () => {
    const pool = dicomDecodePool(1, new URL('../fixtures/compute/dicom-crash-worker.mjs', import.meta.url));
    const decode = decoderOn(pool);
    const dir = dicomDir('philips-3d-t1-gzipped/In/cl');
    const scan = await scanDicomFolder(dir);
    const crashing = { ...scan, label: `${dir} (crash)` };
    await expect(importSeries(crashing, undefined, undefined, decode)).rejects.toThrow(
      /\(crash\): decoding series .+ failed \(compute worker for "dicom-decode" stopped: exit code 9\)/,
    );
    expectSameVolume(await importSeries(scan, undefined, undefined, decode), await importSeries(scan, undefined));
    expect(pool.workers).toBe(1);
  });

  test('a cancelled decode rejects as cancelled, and the pool decodes the next one', async () => {
    const scan = await scanDicomFolder(dicomDir('siemens-xa30-enhanced/In/5_anat-T1w_acq-tfl'));
    const ac = new AbortController();
    const job = importSeries(scan, undefined, undefined, worker, ac.signal);
    setTimeout(() => ac.abort(), 20);
    await expect(job).rejects.toThrow(/cancelled/);
    expectSameVolume(await importSeries(scan, undefined, undefined, worker), await importSeries(scan, undefined));
  });
});
