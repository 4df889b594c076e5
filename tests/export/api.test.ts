import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createWorkstation } from '../../main/api/handlers.js';
import { InputError } from '../../main/api/errors.js';
import { dispatch } from '../../main/api/methods.js';
import type { SrExport } from '../../main/api/types.js';
import { importSeries, parseNifti, readNifti, scanDicomFolder, writeNifti } from '../../main/imaging/index.js';
import { voxelVolumeMm3 } from '../../main/imaging/volume.js';
import { sampleFiles } from '../../main/settings/paths.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoStructureMask } from './masks.js';
import { dciodvfy, ACCEPTED_WARNINGS } from './validators.js';

const dir = tempDir('neuroverse-export-api-');
const GE = 'ge-3d-t1-mprage/In/05_3D_Ax_T1_MP_RAGE_R22';

describe('export and PACS through the API', () => {
  test('a NIfTI target explains why there is no DICOM-SEG; mask NIfTI, stats and report work', async () => {
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: join(dir, 'data1') });
    const [t1, aal] = await ws.api.openSample();
    expect(await dispatch(ws.api, 'exportAvailability', [t1.id])).toEqual({ seg: false, segReason: expect.stringMatching(/DICOM-SEG needs a DICOM source/) });
    const err = await ws.api.exportSeg(t1.id, aal.id).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/needs a DICOM source/);
    const nifti = await ws.api.exportMaskNifti(t1.id, aal.id);
    const back = parseNifti(nifti, 'mask.nii');
    expect(back.affine).toEqual(t1.affine);
    expect(back.data).toBeInstanceOf(Uint8Array);
    const stats = await ws.api.volumeStats(aal.id, { 1: 'Precentral_L' });
    expect(stats.structures.length).toBeGreaterThan(100);
    expect(stats.structures[0].name).toBe('Precentral_L');
    expect(stats.csv.split('\r\n')[1]).toMatch(/^Precentral_L,1,\d+,\d+\.\d{4}$/);
    const report = new TextDecoder().decode(await ws.api.runReport(t1.id, aal.id, { names: { 1: 'Precentral_L' }, icv: false }));
    expect(report).toContain('Precentral_L');
    expect(report.match(/data:image\/png;base64/g)).toHaveLength(3);
    // A mask opened from a file: the report says it does not know how it was made.
    expect(report).toContain('how the segmentation was made is not known');
    expect(report).toContain('Intracranial volume (ICV): not estimated');
  }, 60_000);

  test('the app report estimates the intracranial volume on the scan and gives a percentile for age and sex given', async () => {
    // One atlas: the sample head itself with its skull-stripped brain as the "intracranial" mask, so the estimate
    // must come back as that mask's volume (the registration of a head onto itself is the identity).
    const { t1: head, brain } = sampleFiles();
    const ws = createWorkstation({
      mode: 'headless',
      version: 'test',
      dataDir: join(dir, 'data4'),
      icvAtlases: { atlases: [{ imageFile: head, labelFile: brain }] },
    });
    const [t1, aal] = await ws.api.openSample();
    const b = await readNifti(brain);
    let inside = 0;
    for (let i = 0; i < b.data.length; i++) if (b.data[i] !== 0) inside++;
    const brainMl = (inside * voxelVolumeMm3(b.affine)) / 1000;
    // AAL 37/38 are the left and right hippocampus: the bundled norm (% ICV by age and sex) applies to them.
    const names = { 37: 'Left-Hippocampus', 38: 'Right-Hippocampus' };
    const html = new TextDecoder().decode(await ws.api.runReport(t1.id, aal.id, { names, age: 45, sex: 'F' }));
    const icv = /Intracranial volume \(ICV\): (\d+) mL \(majority vote of 1 atlas/.exec(html);
    expect(icv, html.slice(0, 3000)).not.toBeNull();
    expect(Math.abs(Number(icv![1]) - brainMl) / brainMl).toBeLessThan(0.02);
    expect(html).toContain('Percentiles for age 45, sex F (age given by the user; sex given by the user)');
    // Each hippocampus and their total get a percentile cell from the Coupé et al. 2017 table.
    expect(html.match(/<td class="[a-z]*" title="Coupé P[^"]*">[<>&a-z;]*\d+<\/td>/g)).toHaveLength(3);
    const noIcv = new TextDecoder().decode(await ws.api.runReport(t1.id, aal.id, { names, age: 45, sex: 'F', icv: false }));
    expect(noIcv).toContain('Intracranial volume (ICV): not estimated');
  }, 180_000);

  test.skipIf(!hasSharedData)(
    'a DICOM target exports a valid SEG, and an SR that references it, through the API',
    async () => {
      const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: join(dir, 'data2') });
      const opened = await ws.openPath(dicomDir(GE));
      if (opened.kind !== 'volume') throw new Error('expected a volume');
      const volume = await importSeries(await scanDicomFolder(dicomDir(GE)), undefined);
      const maskPath = join(dir, 'mask.nii.gz');
      await writeNifti(maskPath, twoStructureMask(volume), { intent: 'label' });
      const mask = await ws.openPath(maskPath, { role: 'label' });
      if (mask.kind !== 'volume') throw new Error('expected a volume');
      expect(await ws.api.exportAvailability(opened.volume.id)).toEqual({ seg: true });
      // An SR before any SEG names the source series only.
      const first = await ws.api.exportSr(opened.volume.id, mask.volume.id, [{ label: 'Left-Hippocampus', value: 17 }]);
      expect(first.referencedSeg).toBeNull();
      const seg = await ws.api.exportSeg(opened.volume.id, mask.volume.id, [{ label: 'Left-Hippocampus', value: 17 }]);
      const out = join(dir, 'api-seg.dcm');
      writeFileSync(out, seg.bytes);
      const v = dciodvfy(out);
      expect(v.errors, v.output).toEqual([]);
      expect(
        v.warnings.filter((w) => !ACCEPTED_WARNINGS.some((re) => re.test(w))),
        v.output,
      ).toEqual([]);
      // After the SEG of the unchanged mask: the SR references it, segment 1 for value 17.
      const sr = (await dispatch(ws.api, 'exportSr', [opened.volume.id, mask.volume.id, [{ label: 'Left-Hippocampus', value: 17 }]])) as SrExport;
      expect(sr.referencedSeg).toBe(seg.sopInstanceUid);
      expect(sr.measurements).toEqual([{ label: 'Left-Hippocampus', value: 17, volumeMl: first.measurements[0].volumeMl, segmentNumber: 1 }]);
      const srOut = join(dir, 'api-sr.dcm');
      writeFileSync(srOut, sr.bytes);
      expect(dciodvfy(srOut).errors).toEqual([]);
    },
    120_000,
  );

  test('PACS nodes are kept in the data folder; an unreachable node is one clear error', async () => {
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: join(dir, 'data3') });
    expect(await ws.api.pacsConfig()).toEqual({ localAeTitle: 'NEUROVERSE', nodes: [] });
    // Port 1 on loopback: nothing listens there, so the connection is refused without leaving the machine.
    await ws.api.pacsSaveNode({ name: 'nowhere', aeTitle: 'NOBODY', host: '127.0.0.1', port: 1 });
    expect((await ws.api.pacsConfig()).nodes).toEqual([{ name: 'nowhere', aeTitle: 'NOBODY', host: '127.0.0.1', port: 1 }]);
    await expect(ws.api.pacsEcho('nowhere')).rejects.toThrow(/DICOM node nowhere \(NOBODY@127\.0\.0\.1:1\): unreachable: connection refused/);
    await expect(ws.api.pacsSaveNode({ name: 'bad', aeTitle: 'A\\B', host: 'h', port: 104 })).rejects.toThrow(/AE title/);
    await expect(ws.api.pacsEcho('missing')).rejects.toThrow(/no DICOM node named "missing"/);
    expect((await ws.api.pacsRemoveNode('nowhere')).nodes).toEqual([]);
  });

  test('a node on another computer is saved only when the user confirms; hosts and UIDs are checked', async () => {
    const data = join(dir, 'data4');
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: data });
    const remote = { name: 'hospital', aeTitle: 'PACS', host: 'pacs.example.org', port: 104 };
    await expect(ws.api.pacsSaveNode(remote)).rejects.toThrow(/pacs\.example\.org is another computer.*Confirm/);
    expect((await ws.api.pacsConfig()).nodes).toEqual([]);
    expect((await ws.api.pacsSaveNode(remote, { confirmRemote: true })).nodes).toEqual([remote]);
    for (const host of ['http://evil/', 'a b', '../x', 'host;rm', '-oProxy=x', '1.2.3.999']) {
      await expect(ws.api.pacsSaveNode({ ...remote, name: 'x', host }, { confirmRemote: true })).rejects.toThrow(
        /is not a host name or IP address|host is missing/,
      );
    }
    await ws.api.pacsSaveNode({ name: 'here', aeTitle: 'X', host: '127.0.0.1', port: 1 });
    for (const uid of ['..', '.', '1..2', '../../etc', '1.2.', `1.${'2'.repeat(70)}`]) {
      await expect(ws.api.pacsRetrieve('here', '1.2.3', uid)).rejects.toThrow(/must be DICOM UIDs/);
      await expect(ws.api.pacsRetrieve('here', uid)).rejects.toThrow(/must be DICOM UIDs/);
    }
    expect(existsSync(join(data, 'pacs'))).toBe(false);
  });
});
