import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { createWorkstation, type Workstation } from '../../main/api/handlers.js';
import type { VolumeInfo } from '../../main/api/types.js';
import { readNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { Library } from '../../main/library/library.js';
import { localCorrelation, rankContext } from '../../main/pipeline/context-choice.js';
import { contextQc } from '../../main/pipeline/qc.js';
import { resourcesDir } from '../../main/settings/paths.js';
import { tempDir } from '../helpers/tmp.js';
import { moved, rigid } from '../registration/synthetic.js';

// Ranking is checked on the bundled Colin27 head: copies whose relation to the original is known (the same
// anatomy at another intensity scale, shifted, or in inverted contrast), so the right order is known too.
const SAMPLE = join(resourcesDir(), 'sample');
let t1: Volume;
let aal: Volume;

/** The same voxels through v ↦ a·v + b (stored as float so nothing is clipped). */
function mapped(v: Volume, a: number, b: number): Volume {
  const data = new Float32Array(v.data.length);
  for (let i = 0; i < data.length; i++) data[i] = a * (v.data[i] * v.slope + v.intercept) + b;
  return { ...v, data, slope: 1, intercept: 0 };
}

/** The voxels moved by `d` along the first axis (what a pair misaligned by d voxels looks like on the target grid). */
function shifted(v: Volume, d: number): Volume {
  const data = new Float32Array(v.data.length);
  const nx = v.dims[0];
  for (let i = 0; i < data.length; i++) {
    const x = i % nx;
    data[i] = x - d >= 0 && x - d < nx ? v.data[i - d] * v.slope + v.intercept : 0;
  }
  return { ...v, data, slope: 1, intercept: 0 };
}

beforeAll(async () => {
  t1 = await readNifti(join(SAMPLE, 'colin27_t1.nii.gz'));
  aal = await readNifti(join(SAMPLE, 'colin27_aal.nii.gz'));
});

describe('local image similarity', () => {
  test('is 1 for the same anatomy at any intensity scale, −1 in inverted contrast, and falls with misalignment', () => {
    const region = { lo: [40, 60, 40] as [number, number, number], hi: [140, 160, 120] as [number, number, number] };
    expect(localCorrelation(t1, mapped(t1, 0.5, 20), region)).toBeCloseTo(1, 6);
    expect(localCorrelation(t1, mapped(t1, -2, 3000), region)).toBeCloseTo(-1, 6);
    const by2 = localCorrelation(t1, shifted(t1, 2), region);
    const by6 = localCorrelation(t1, shifted(t1, 6), region);
    expect(by2).toBeLessThan(0.95);
    expect(by6).toBeLessThan(by2);
  });

  test('ranks the pairs that fit best first, per structure, and keeps the best n; a scanner match breaks ties', async () => {
    const images = [shifted(t1, 6), mapped(t1, 0.7, 5), shifted(t1, 2), mapped(t1, -1, 255)];
    const labels = [shifted(aal, 6), aal, shifted(aal, 2), aal];
    const [hippocampus, thalamus] = await rankContext(
      t1,
      { count: 4, readImage: async (i) => images[i], readLabel: async (i) => labels[i] },
      [
        [37, 38],
        [77, 78],
      ],
      2,
    );
    for (const c of [hippocampus, thalamus]) {
      expect(c.scores.map((s) => s.rank)).toEqual([3, 1, 2, 4]);
      expect(c.scores.map((s) => s.chosen)).toEqual([false, true, true, false]);
      expect(c.n).toBe(2);
      expect(c.from).toBe(4);
    }
    // Each structure is judged in its own region (around its labels, grown by 10 mm).
    expect(hippocampus.region).not.toEqual(thalamus.region);
    const same = [t1, t1];
    const [tie] = await rankContext(t1, { count: 2, readImage: async (i) => same[i], readLabel: async () => aal, headerMatch: [0, 1] }, [[37, 38]], 1);
    expect(tie.scores.map((s) => s.chosen)).toEqual([false, true]);
  });
});

describe('checks of the aligned context', () => {
  const check = (images: Volume[], labels: Volume[]) =>
    contextQc(t1, { count: images.length, readImage: async (i) => images[i], readLabel: async (i) => labels[i], name: (i) => `pair ${i + 1}` }, [
      { name: 'hippocampus', labels: [37, 38] },
    ]);

  test('good pairs pass; inverted contrast, a missing or odd-sized structure and a cut field of view are named', async () => {
    expect(await check([t1, mapped(t1, 0.8, 3), t1], [aal, aal, aal])).toEqual([]);
    const noHippocampus = mapped(aal, 1, 0);
    for (let i = 0; i < noHippocampus.data.length; i++) if (noHippocampus.data[i] === 37 || noHippocampus.data[i] === 38) noHippocampus.data[i] = 0;
    // A pair whose scan stops above the temporal lobes: its image is empty where the others put the hippocampus.
    const cut = mapped(t1, 1, 0);
    const [nx, ny] = t1.dims;
    const zCut = Math.max(...[...aal.data.keys()].filter((i) => aal.data[i] === 37).map((i) => Math.floor(i / (nx * ny))));
    cut.data.fill(0, 0, nx * ny * (zCut + 1));
    // A badly registered pair: its hippocampi more than twice their size (every voxel spread 12 mm along x).
    const grown = mapped(aal, 1, 0);
    for (let i = 0; i < aal.data.length; i++) if (aal.data[i] === 37 || aal.data[i] === 38) for (let d = -12; d <= 12; d++) grown.data[i + d] = aal.data[i];
    const found = await check([t1, mapped(t1, -1, 255), t1, cut, t1], [aal, aal, noHippocampus, aal, grown]);
    const kinds = found.map((w) => [w.kind, w.pair]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['contrast', 1],
        ['structure-missing', 2],
        ['pair-field-of-view', 3],
        ['structure-size', 4],
      ]),
    );
    expect(found.find((w) => w.kind === 'contrast')!.message).toMatch(/pair 2 looks like the target in inverted contrast around hippocampus/);
    expect(found.find((w) => w.kind === 'structure-size')!.value).toBeGreaterThan(2);
  });
});

describe('one-click run with the context chosen for the target', () => {
  const dataDir = tempDir();
  const SET = 'hippocampus · two colin27';
  let ws: Workstation;
  let target: VolumeInfo;
  let pairIds: number[];

  beforeAll(async () => {
    ws = createWorkstation({ mode: 'headless', version: 'test', starter: false, dataDir, libraryDir: join(dataDir, 'library') });
    const [t, label] = await ws.api.openSample();
    target = t;
    const m = rigid(4, [5, -4, 3]);
    const task = { name: 'hippocampus', structure: 'hippocampus', labels: [37, 38] };
    // Pair 1 in the target's contrast; pair 2 the same head in inverted contrast (a T2-like example in a T1 set).
    const inverted = ws.volumes.add(moved(mapped(ws.volumes.get(t.id), -1, 255), m), 'inverted colin27', 'image');
    const normal = ws.volumes.add(moved(ws.volumes.get(t.id), m), 'moved colin27', 'image');
    const lab = ws.volumes.add(moved(ws.volumes.get(label.id), m), 'moved aal', 'label');
    await ws.api.addLibraryPair({ set: SET, task, scanner: 'colin27', imageVolumeId: inverted.id, labelVolumeId: lab.id });
    await ws.api.addLibraryPair({ set: SET, task, scanner: 'colin27', imageVolumeId: normal.id, labelVolumeId: lab.id });
    pairIds = (await ws.api.listContextSets())[0].pairs.map((p) => p.id);
  });

  afterAll(async () => {
    await ws?.api.closeVolume(target.id);
  });

  test("the pair in the target's contrast is chosen; the run uses it alone and records only it", async () => {
    const r = await ws.api.runTask({ targetVolumeId: target.id, contextSet: SET, method: 'vote', align: 'affine', autoContext: 1 });
    expect(r.contextSize).toBe(1);
    expect(r.contextChoice).toHaveLength(1);
    const [c] = r.contextChoice!;
    expect(c).toMatchObject({ structure: 'hippocampus', n: 1, from: 2 });
    const byId = new Map(c.pairs.map((p) => [p.pairId, p]));
    expect(byId.get(pairIds[1])).toMatchObject({ rank: 1, chosen: true, position: 2, name: expect.stringMatching(/^pair 2/) });
    expect(byId.get(pairIds[0])).toMatchObject({ rank: 2, chosen: false, position: 1 });
    expect(byId.get(pairIds[1])!.similarity).toBeGreaterThan(0.5);
    expect(byId.get(pairIds[0])!.similarity).toBeLessThan(0);
    // Both were registered once to rank them; the vote used one.
    expect(r.alignment).toMatchObject({ registered: 2 });
    expect(r.qc).toEqual([]);
    expect(r.structures[0].voxels).toBeGreaterThan(1000);
    const library = await Library.open(join(dataDir, 'library'));
    try {
      const recorded = library.listAudit(20).find((e) => e.action === 'record-run')!;
      expect(recorded.detail).toMatchObject({ provenance: { contextSet: { pairs: 1 } } });
    } finally {
      library.close();
    }
  }, 240_000);

  test("the user's own choice of pairs overrides the ranking; bad choices are one clear line", async () => {
    const r = await ws.api.runTask({ targetVolumeId: target.id, contextSet: SET, method: 'vote', align: 'affine', pairIds: [pairIds[0]] });
    expect(r.contextSize).toBe(1);
    expect(r.contextChoice).toBeNull();
    expect(r.alignment).toMatchObject({ registered: 0, cached: 1 });
    // The user's choice is run, and the check says what is wrong with it.
    expect(r.qc).toEqual([
      expect.objectContaining({
        kind: 'contrast',
        structure: 'hippocampus',
        pairId: pairIds[0],
        message: expect.stringMatching(/^pair 1 looks like the target in inverted contrast around hippocampus/),
      }),
    ]);
    await expect(ws.api.runTask({ targetVolumeId: target.id, contextSet: SET, pairIds: [999999] })).rejects.toThrow(/999999 are not in set/);
    await expect(ws.api.runTask({ targetVolumeId: target.id, contextSet: SET, pairIds: [] })).rejects.toThrow(/at least one/);
    const none = await ws.api.runTask({ targetVolumeId: target.id, contextSet: SET, method: 'model', align: 'none', autoContext: 1 }).catch((e) => e);
    expect(none).toBeInstanceOf(InputError);
    expect(none.message).toMatch(/compares the aligned images/);
  }, 120_000);
});
