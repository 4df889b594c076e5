import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createWorkstation } from '../../main/api/handlers.js';
import type { OpenedVolume, OpenResult, SeriesSummary } from '../../main/api/types.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { twoEchoSeries } from '../helpers/two-echoes.js';

const dir = tempDir('neuroverse-series-volumes-');
const XA30 = 'siemens-xa30-enhanced/In/5_anat-T1w_acq-tfl';

// A series from which dcm2niix makes several volumes is offered volume by volume (issue 25, "real folders"): the
// picker lists each, and the one picked is the one opened.
describe.skipIf(!hasSharedData)('a series that makes several volumes, through the API', () => {
  const echoes = join(dir, 'echoes');
  const study = join(dir, 'study');

  const choice = (r: OpenResult) => {
    expect(r.kind).toBe('choose-series');
    return r as Extract<OpenResult, { kind: 'choose-series' }>;
  };
  /** Real value of voxel i of an open volume. */
  const at = (ws: ReturnType<typeof createWorkstation>, id: string, i: number) => {
    const v = ws.volumes.get(id);
    return v.data[i] * v.slope + v.intercept;
  };

  test('setup: two echoes of a real series, alone and in a folder beside an enhanced series that makes one volume', () => {
    twoEchoSeries(echoes);
    mkdirSync(study);
    for (const f of readdirSync(echoes)) copyFileSync(join(echoes, f), join(study, f));
    for (const f of readdirSync(dicomDir(XA30))) copyFileSync(join(dicomDir(XA30), f), join(study, f));
  }, 120_000);

  test('a folder with several series lists the volumes of the one that makes two, and opens the volume picked', async () => {
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: join(dir, 'data1') });
    const c = choice(await ws.openPath(study));
    expect(c.series).toHaveLength(2);
    const [two, one] = [c.series.find((s) => s.volumes), c.series.find((s) => !s.volumes)] as SeriesSummary[];
    expect(two.volumes).toEqual([expect.stringMatching(/_e1$/), expect.stringMatching(/_e2$/)]);
    // The enhanced series was asked about (a multi-frame file may hold several) and makes one: listed once.
    expect(one.reader).toBe('dcm2niix');
    const first = (await ws.api.chooseSeries(c.pendingId, two.seriesInstanceUid, { volume: two.volumes![0] })).volume;
    const second = (await ws.api.chooseSeries(c.pendingId, two.seriesInstanceUid, { volume: two.volumes![1] })).volume;
    expect([first.source.volumeIndex, second.source.volumeIndex]).toEqual([1, 2]);
    expect(second.name).toMatch(/volume 2 of 2: .*_e2\]$/);
    expect(second.dims).toEqual(first.dims);
    // The second echo holds half the first's signal, voxel for voxel.
    let worst = 0;
    let signal = 0;
    for (let i = 0; i < ws.volumes.get(first.id).data.length; i++) {
      worst = Math.max(worst, Math.abs(at(ws, second.id, i) - at(ws, first.id, i) / 2));
      signal += at(ws, first.id, i);
    }
    expect(signal).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1);
  }, 120_000);

  test('a folder holding only that series offers both volumes instead of opening the first; the recent entry reopens the one picked', async () => {
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: join(dir, 'data2') });
    const c = choice(await ws.openPath(echoes));
    expect(c.series).toHaveLength(1);
    expect(c.series[0].volumes).toHaveLength(2);
    expect(ws.volumes.list()).toEqual([]);
    const picked = await ws.api.chooseSeries(c.pendingId, c.series[0].seriesInstanceUid, { volume: c.series[0].volumes![1] });
    const recent = (await ws.api.recentFiles()).find((r) => r.volume === c.series[0].volumes![1]);
    expect(recent).toBeDefined();
    const again = (await ws.api.openRecent(recent!.id)) as OpenedVolume;
    expect(again.kind).toBe('volume');
    expect(again.volume.source.volumeIndex).toBe(2);
    expect(again.volume.name).toBe(picked.volume.name);
  }, 120_000);

  test('dropped files of that series: the same choice', async () => {
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir: join(dir, 'data3') });
    const blobs = readdirSync(echoes).map((f) => ({ name: `echoes/${f}`, data: new Uint8Array(readFileSync(join(echoes, f))) }));
    const c = choice(await ws.api.openFiles(blobs));
    const names = c.series[0].volumes!;
    const opened = await ws.api.chooseSeries(c.pendingId, c.series[0].seriesInstanceUid, { volume: names[1] });
    expect(opened.volume.source.volumes).toEqual(names);
    expect(opened.volume.source.volumeIndex).toBe(2);
  }, 120_000);
});
