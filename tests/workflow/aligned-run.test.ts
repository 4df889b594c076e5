import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CancelledError } from '../../main/api/errors.js';
import { createWorkstation, type Workstation } from '../../main/api/handlers.js';
import type { ApiEvent, VolumeInfo } from '../../main/api/types.js';
import { Library } from '../../main/library/library.js';
import { registrationCacheDir } from '../../main/settings/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { dice, moved, rigid } from '../registration/synthetic.js';

// The app's one-click run with its defaults: the context pair is registered to the target (elastix in the
// compute workers) and its labels fused by vote. The pair is the sample itself, moved in the world by a
// known rigid transform, so the result can be checked against the sample's own atlas.
const dataDir = tempDir();
const SET = 'hippocampus · moved colin27';
let ws: Workstation;
let t1: VolumeInfo;
let aal: VolumeInfo;

beforeAll(async () => {
  ws = createWorkstation({ mode: 'headless', version: 'test', dataDir, libraryDir: join(dataDir, 'library') });
  [t1, aal] = await ws.api.openSample();
  const m = rigid(6, [8, -6, 5]);
  const img = ws.volumes.add(moved(ws.volumes.get(t1.id), m), 'moved colin27', 'image');
  const lab = ws.volumes.add(moved(ws.volumes.get(aal.id), m), 'moved aal', 'label');
  await ws.api.addLibraryPair({
    set: SET,
    task: { name: 'hippocampus', structure: 'hippocampus', labels: [37, 38] },
    scanner: 'colin27 (MNI)',
    imageVolumeId: img.id,
    labelVolumeId: lab.id,
  });
});

afterAll(async () => {
  await ws?.api.closeVolume(t1.id);
});

describe('one-click run with alignment', () => {
  const events: ApiEvent[] = [];

  test('registered deformably and its labels voted: the structure lands on the target', async () => {
    const off = ws.onEvent((e) => e.jobId === 'aligned-1' && events.push(e));
    const r = await ws.api.runTask({ targetVolumeId: t1.id, contextSet: SET, method: 'vote', align: 'deformable', jobId: 'aligned-1' });
    off();
    expect(r).toMatchObject({ method: 'vote', align: 'deformable', model: null, contextSize: 1, miniContext: null, alignment: { registered: 1, cached: 0 } });
    // One pair voted alone: nothing is in doubt, so no doubt map.
    expect(r.uncertainty).toBeNull();
    expect(events.some((e) => e.type === 'progress' && e.stage === 'align')).toBe(true);
    const atlas = ws.volumes.get(aal.id);
    const truth = Array.from(atlas.data, (v) => (v === 37 || v === 38 ? 1 : 0));
    expect(dice(truth, ws.volumes.get(r.volumeId).data)).toBeGreaterThan(0.8);
    // A deformable registration at 1 mm takes minutes on two busy cores: a limit for a hung job, not a speed check.
  }, 400_000);

  test('a second structure on the same target reuses the registration', async () => {
    const r = await ws.api.runTask({
      targetVolumeId: t1.id,
      contextSet: SET,
      method: 'vote',
      align: 'deformable',
      structures: [{ name: 'thalamus', labels: [77, 78] }],
    });
    expect(r.alignment).toMatchObject({ registered: 0, cached: 1 });
    expect(r.structures[0].voxels).toBeGreaterThan(1000);
  });

  test('the model on the same aligned pair reuses the registration and reports its agreement with the vote', async () => {
    const r = await ws.api.runTask({ targetVolumeId: t1.id, contextSet: SET, method: 'model', align: 'deformable', device: 'cpu' });
    expect(r).toMatchObject({ method: 'model', model: 'default', align: 'deformable', alignment: { registered: 0 } });
    expect(r.baseline).toHaveLength(1);
    expect(r.baseline![0].name).toBe('hippocampus');
    expect(r.baseline![0].voteMl).toBeGreaterThan(5);
    expect(r.baseline![0].agreement).toBeGreaterThanOrEqual(0);
    // Model and vote disagree somewhere: that is in doubt, and the map opens beside the result.
    expect(r.uncertainty).not.toBeNull();
    expect(r.uncertainty!.structures[0].name).toBe('hippocampus');
    expect(r.uncertainty!.structures[0].doubtfulMl).toBeGreaterThan(0);
    const doubt = ws.volumes.get(r.uncertainty!.volumeId);
    expect(doubt.dims).toEqual(ws.volumes.get(t1.id).dims);
    expect(ws.volumes.info(r.uncertainty!.volumeId).role).toBe('probability');
    await ws.api.closeVolume(r.uncertainty!.volumeId);
    await ws.api.closeVolume(r.volumeId);
  });

  test('the runs are recorded with their method and alignment', async () => {
    const library = await Library.open(join(dataDir, 'library'));
    try {
      const runs = library.listRuns();
      expect(runs.map((x) => [x.model, x.method, x.alignment])).toEqual([
        ['atlas-vote', 'vote', 'deformable'],
        ['atlas-vote', 'vote', 'deformable'],
        ['default', 'model', 'deformable'],
      ]);
    } finally {
      library.close();
    }
  });

  test('cancel during alignment ends the job as cancelled, adds no volume, and leaves no partial cache entry', async () => {
    const before = (await ws.api.listVolumes()).length;
    const run = ws.api.runTask({ targetVolumeId: t1.id, contextSet: SET, align: 'affine', jobId: 'aligned-cancel' });
    await new Promise<void>((ok) => {
      const off = ws.onEvent((e) => {
        if (e.type === 'progress' && e.jobId === 'aligned-cancel' && e.stage === 'align') {
          off();
          ok();
        }
      });
    });
    expect(await ws.api.cancelJob('aligned-cancel')).toBe(true);
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect((await ws.api.listVolumes()).length).toBe(before);
    await new Promise((r) => setTimeout(r, 300));
    expect(readdirSync(registrationCacheDir(dataDir)).filter((n) => n.startsWith('.partial-'))).toEqual([]);
  });
});
