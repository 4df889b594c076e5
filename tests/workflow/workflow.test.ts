import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CancelledError, InputError } from '../../main/api/errors.js';
import { createWorkstation, type Workstation } from '../../main/api/handlers.js';
import type { ApiEvent, ProgressEvent, VolumeInfo } from '../../main/api/types.js';
import { importCheckpoint } from '../../main/engine/index.js';
import { encodeNifti, readNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { Library } from '../../main/library/library.js';
import type { ContextSetInfo } from '../../main/library/types.js';
import { findModels, modelPlaces } from '../../main/workflow/models.js';
import { cardLines } from '../../main/workflow/model-card.js';
import { labelCentroids, remapCorrected, savedLabelValues } from '../../main/workflow/corrected-labels.js';
import { labelStats } from '../../main/workflow/orchestrate-run.js';
import { chooseDefaultSet } from '../../main/library/default-set.js';
import { FIXTURES } from '../engine/fixture-helpers.js';
import { tempDir } from '../helpers/tmp.js';
import { testVolume } from '../helpers/volumes.js';

// The committed tiny checkpoint through the real importer: random weights, so these tests check the
// workflow (grids, label values, volumes, progress, cancel, persistence), never segmentation quality.
const dataDir = tempDir();
const SET = 'hippocampus · colin27';
const SET_LR = 'hippocampus L/R · colin27';
const TASK = { name: 'hippocampus', structure: 'hippocampus', labels: [37, 38] };
let ws: Workstation;
let t1: VolumeInfo;
let aal: VolumeInfo;

/** A distinct copy of the sample T1 (intensities scaled), so a set can hold several different pairs. */
function scaledCopy(v: Volume, factor: number): Volume {
  const data = new Float32Array(v.data.length);
  for (let i = 0; i < data.length; i++) data[i] = (v.data[i] * v.slope + v.intercept) * factor;
  return { ...v, data, slope: 1, intercept: 0 };
}

beforeAll(async () => {
  await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(dataDir, 'models', 'tiny'), { grid: [32, 32, 32] });
  ws = createWorkstation({ mode: 'headless', version: 'test', starter: false, dataDir, libraryDir: join(dataDir, 'library') });
  [t1, aal] = await ws.api.openSample();
  for (const f of [1, 1.1, 0.9]) {
    const img = f === 1 ? t1 : ws.volumes.add(scaledCopy(ws.volumes.get(t1.id), f), `colin27 ×${f}`, 'image');
    await ws.api.addLibraryPair({ set: SET, task: TASK, scanner: 'colin27 (MNI)', imageVolumeId: img.id, labelVolumeId: aal.id });
  }
});

afterAll(async () => {
  await ws?.api.closeVolume(t1.id);
});

describe('model lookup', () => {
  test('searches $NEUROVERSE_MODELS, then <dataDir>/models, then resources/models; an earlier id hides a later one', async () => {
    const env = tempDir();
    const places = modelPlaces(dataDir, '/nonexistent-resources', { NEUROVERSE_MODELS: env });
    expect(places.map((p) => p.origin)).toEqual(['env', 'data', 'resources']);
    expect((await findModels(places)).map((m) => [m.id, m.origin])).toEqual([['tiny', 'data']]);
    await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(env, 'tiny'), { grid: [32, 32, 32], name: 'from-env' });
    mkdirSync(join(env, 'not-a-model'));
    const found = await findModels(places);
    expect(found.map((m) => [m.id, m.origin, m.name])).toEqual([['tiny', 'env', 'from-env']]);
  });

  test('listModels reports the package the API will use', async () => {
    const models = await ws.api.listModels();
    // The user's package comes before the bundled default, which is listed with its evaluation card.
    expect(models).toEqual([
      expect.objectContaining({ id: 'tiny', tasks: expect.arrayContaining(['segment']), grid: [32, 32, 32], origin: 'data', evaluation: null }),
      expect.objectContaining({ id: 'default', grid: [64, 64, 64], origin: 'resources', evaluation: expect.objectContaining({ summary: expect.any(String) }) }),
    ]);
  });

  test("the manifest's evaluation card travels with the model, and the Run panel's lines come from it", async () => {
    const card = {
      summary: '1200 training steps. Held-out Dice at L = 8: 0.61 average over 2 structures.',
      segmentation: {
        metric: 'Dice',
        contextSizes: [1, 4, 8],
        table: [
          { structure: 'hippocampus', model: 0.58, baseline: 0.52 },
          { structure: 'thalamus', model: 0.64, baseline: 0.66 },
        ],
      },
      training: { steps: 1200 },
    };
    const env = tempDir();
    await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(env, 'evaluated'), { grid: [32, 32, 32], evaluation: card });
    const [found] = await findModels([{ dir: env, origin: 'env' }]);
    expect(found.evaluation).toEqual(card);
    expect(cardLines(found.evaluation)).toEqual({
      evaluated: true,
      summary: card.summary,
      rows: card.segmentation.table,
      contextSize: 8,
      realScans: null,
      realScansBySize: null,
      restoration: null,
    });
    expect(cardLines(null)).toEqual({
      evaluated: false,
      summary: null,
      rows: [],
      contextSize: null,
      realScans: null,
      realScansBySize: null,
      restoration: null,
    });
    // A card is a file on disk: malformed rows and fields are left out, never shown as "undefined".
    const odd = {
      summary: 3,
      segmentation: { table: [{ structure: 'x', model: '0.5', baseline: 0.4 }, null, { structure: 'y', model: 0.7, baseline: 0.2, extra: 1 }] },
    };
    expect(cardLines(odd)).toEqual({
      evaluated: true,
      summary: null,
      rows: [{ structure: 'y', model: 0.7, baseline: 0.2 }],
      contextSize: null,
      realScans: null,
      realScansBySize: null,
      restoration: null,
    });
  });
});

describe('label values of a corrected result', () => {
  test('structures run apart are saved apart, each with its own value', () => {
    expect(
      savedLabelValues(
        [
          { name: 'left hippocampus', labels: [17] },
          { name: 'right hippocampus', labels: [53] },
        ],
        [17, 53],
      ),
    ).toEqual([17, 53]);
    expect(
      savedLabelValues(
        [
          { name: 'hippocampus', labels: [37, 38] },
          { name: 'thalamus', labels: [77, 78] },
        ],
        [37, 38],
      ),
    ).toEqual([37, 77]);
  });

  test('a structure of several values never takes a value another structure stands for alone', () => {
    // One mask for 37 ∪ 38 cannot be split; with "left: 37" beside it, what remains of it is saved as 38.
    expect(
      savedLabelValues(
        [
          { name: 'hippocampus', labels: [37, 38] },
          { name: 'left', labels: [37] },
        ],
        [37, 38],
      ),
    ).toEqual([38, 37]);
    expect(
      savedLabelValues(
        [
          { name: 'a', labels: [37, 38] },
          { name: 'b', labels: [37, 38] },
        ],
        [37, 38],
      ),
    ).toEqual([37, 38]);
  });

  test("structures without values take the set's values, then unused ones, never the same", () => {
    expect(
      savedLabelValues(
        [
          { name: 'a', labels: [] },
          { name: 'b', labels: [] },
        ],
        [5],
      ),
    ).toEqual([5, 1]);
    expect(
      savedLabelValues(
        [
          { name: 'a', labels: [] },
          { name: 'b', labels: [1] },
        ],
        [],
      ),
    ).toEqual([2, 1]);
  });
});

describe('default context set', () => {
  const set = (name: string, manufacturer: string | null, model: string | null) =>
    ({ name, scanner: { manufacturer, model }, task: { kind: 'segment' }, pairs: [{}] }) as unknown as ContextSetInfo;
  const target = (dicom?: Record<string, string>) => ({ source: { kind: dicom ? 'dicom' : 'nifti', dicom } }) as unknown as Volume;
  const sets = [
    set('a-generic', null, null),
    set('b-prisma', 'SIEMENS', 'Prisma'),
    set('c-skyra', 'Siemens', 'Skyra'),
    set('d-ge', 'GE MEDICAL SYSTEMS', 'Signa'),
  ];

  // The one rule for "the set for this target" (library/default-set.ts), used by runs without a named set and the Run panel.
  const pick = (all: ContextSetInfo[], dicom?: Record<string, string>, starter: string | null = null) =>
    chooseDefaultSet(all, { dicom: target(dicom).source.dicom, starter });

  test('the set whose scanner matches the DICOM manufacturer and model wins', () => {
    expect(pick(sets, { manufacturer: 'SIEMENS ', model: 'Skyra' })).toMatchObject({
      set: { name: 'c-skyra' },
      reason: expect.stringMatching(/scanner matches/),
    });
    expect(pick(sets, { manufacturer: 'GE MEDICAL SYSTEMS', model: 'Discovery' })?.set.name).toBe('d-ge');
  });

  test('without a match or a DICOM header: the first set for the task; the starter only when no own set fits', () => {
    expect(pick(sets, { manufacturer: 'Philips', model: 'Ingenia' })?.set.name).toBe('a-generic');
    expect(pick(sets)).toMatchObject({ set: { name: 'a-generic' }, starter: false });
    expect(pick([], undefined)).toBeNull();
    const starter = set('0-starter', null, null);
    expect(pick([starter, ...sets], undefined, '0-starter')?.set.name).toBe('a-generic');
    expect(pick([starter], undefined, '0-starter')).toMatchObject({ set: { name: '0-starter' }, starter: true });
  });

  test('through the API, for the open sample', async () => {
    expect(await ws.api.suggestContextSet(t1.id)).toMatchObject({ setName: SET });
  });

  test('a library holding only generation sets still gets a default set', async () => {
    const dir = tempDir();
    const other = createWorkstation({ mode: 'headless', version: 'test', starter: false, dataDir: dir, libraryDir: join(dir, 'library') });
    const [img] = await other.api.openSample();
    const task = { name: 'denoise', kind: 'generate' as const, labels: [] };
    await other.api.addLibraryPair({ set: 'denoise · colin27', task, scanner: 'colin27 (MNI)', imageVolumeId: img.id, labelVolumeId: img.id });
    expect(await other.api.suggestContextSet(img.id)).toMatchObject({ setName: 'denoise · colin27' });
    expect((await other.api.suggestContextSet(img.id, 'segment')).setName).toBeNull();
  });
});

describe('runTask', () => {
  let result: Awaited<ReturnType<Workstation['api']['runTask']>>;
  const events: ApiEvent[] = [];

  test('two structures in one click: one multi-label mask on the target grid, mL from the mask, progress per mini-context', async () => {
    const off = ws.onEvent((e) => e.jobId === 'run-1' && events.push(e));
    result = await ws.api.runTask({
      targetVolumeId: t1.id,
      structures: [
        { name: 'hippocampus', labels: [37, 38] },
        { name: 'thalamus', labels: [77, 78] },
      ],
      miniContext: 2,
      device: 'cpu',
      method: 'model',
      align: 'none',
      jobId: 'run-1',
    });
    off();
    expect(result).toMatchObject({
      task: 'segment',
      contextSet: SET,
      model: 'tiny',
      contextSize: 3,
      miniContext: 2,
      miniContexts: 2,
      provider: 'cpu',
      precision: 'fp32',
    });
    expect(result.providerAttempts).toEqual([{ provider: 'cpu', outcome: 'used', reason: 'CPU execution provider' }]);
    const info = (await ws.api.listVolumes()).find((v) => v.id === result.volumeId)!;
    expect(info.role).toBe('label');
    expect(info.dims.slice(0, 3)).toEqual(t1.dims.slice(0, 3));
    expect(info.affine).toEqual(t1.affine);
    const mask = ws.volumes.get(result.volumeId);
    expect([...new Set(mask.data)].every((v) => v === 0 || v === 1 || v === 2)).toBe(true);
    // Volumes recounted here from the voxels (Colin27 is 1 mm isotropic: 1000 voxels = 1 mL).
    const counts = [1, 2].map((k) => Array.from(mask.data).filter((v) => v === k).length);
    expect(result.structures.map((s) => [s.label, s.name, s.voxels, s.ml])).toEqual([
      [1, 'hippocampus', counts[0], counts[0] / 1000],
      [2, 'thalamus', counts[1], counts[1] / 1000],
    ]);
    const perMiniContext = events.filter((e): e is ProgressEvent => e.type === 'progress' && e.stage === 'mini-context');
    // 3 pairs at l = 2 → 2 mini-contexts, for each of the 2 structures, fractions rising to 1.
    expect(perMiniContext.map((e) => e.message)).toEqual([
      'hippocampus: mini-context 1/2 (2/3 pairs)',
      'hippocampus: mini-context 2/2 (3/3 pairs)',
      'thalamus: mini-context 1/2 (2/3 pairs)',
      'thalamus: mini-context 2/2 (3/3 pairs)',
    ]);
    expect(perMiniContext.at(-1)!.fraction).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'job-done', ok: true });
    for (const k of ['load', 'preprocess', 'targetEncoder', 'context', 'decoder', 'postprocess', 'total']) expect(result.seconds[k]).toBeGreaterThanOrEqual(0);
  });

  test('the run is recorded in the library with its result volume', async () => {
    const library = await Library.open(join(dataDir, 'library'));
    try {
      const runs = library.listRuns();
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ id: result.runId, model: 'tiny', mini_context: 2, device: 'cpu', method: 'model', alignment: 'none', set_name: SET });
      expect(JSON.parse(runs[0].labels_json as string)).toEqual([37, 38, 77, 78]);
      expect(runs[0].result_sha256).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      library.close();
    }
  });

  test('cancel between mini-contexts: the job ends as cancelled and adds no volume', async () => {
    const before = (await ws.api.listVolumes()).length;
    const run = ws.api.runTask({ targetVolumeId: t1.id, contextSet: SET, miniContext: 1, device: 'cpu', method: 'model', align: 'none', jobId: 'run-2' });
    await new Promise<void>((ok) => {
      const off = ws.onEvent((e) => {
        if (e.type === 'progress' && e.jobId === 'run-2' && e.stage === 'mini-context') {
          off();
          ok();
        }
      });
    });
    expect(await ws.api.cancelJob('run-2')).toBe(true);
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect((await ws.api.listVolumes()).length).toBe(before);
  });

  test('runs take turns: a second click waits for the first, and cancelling it while it waits stops it', async () => {
    const first = ws.api.runTask({ targetVolumeId: t1.id, contextSet: SET, miniContext: 3, device: 'cpu', method: 'model', align: 'none', jobId: 'run-a' });
    const second = ws.api.runTask({ targetVolumeId: t1.id, contextSet: SET, miniContext: 3, device: 'cpu', method: 'model', align: 'none', jobId: 'run-b' });
    expect(await ws.api.cancelJob('run-b')).toBe(true);
    await expect(second).rejects.toBeInstanceOf(CancelledError);
    const r = await first;
    expect(r.miniContexts).toBe(1);
    await ws.api.closeVolume(r.volumeId);
  });

  test('bad requests fail with one clear line', async () => {
    await expect(ws.api.runTask({ targetVolumeId: t1.id, contextSet: 'nope' })).rejects.toThrow(/nope/);
    await expect(ws.api.runTask({ targetVolumeId: t1.id, structures: [{ name: 'x', labels: [250] }] })).rejects.toThrow(/250/);
    await expect(ws.api.runTask({ targetVolumeId: t1.id, model: 'missing' })).rejects.toBeInstanceOf(InputError);
  });

  test('a corrected mask travels as NIfTI bytes, is stored as a new pair, and is there after a restart', async () => {
    const mask = ws.volumes.get(result.volumeId);
    const edited = new Uint8Array(mask.data);
    // "Brush": a 10×10×10 block of label 1 around the left hippocampus; "eraser": all of label 2.
    const [nx, ny] = mask.dims;
    for (let k = 60; k < 70; k++) for (let j = 100; j < 110; j++) for (let i = 50; i < 60; i++) edited[i + nx * (j + ny * k)] = 1;
    for (let i = 0; i < edited.length; i++) if (edited[i] === 2) edited[i] = 0;
    const bytes = encodeNifti({ ...mask, data: edited });
    const updated = await ws.api.updateLabelVolume(result.volumeId, bytes, 'drawing.nii');
    const ones = edited.reduce((n, v) => n + (v === 1 ? 1 : 0), 0);
    expect(updated.labels).toEqual([
      { label: 1, name: 'hippocampus', voxels: ones, ml: ones / 1000 },
      { label: 2, name: 'thalamus', voxels: 0, ml: 0 },
    ]);
    expect(labelStats(ws.volumes.get(updated.volumeId))).toEqual([{ label: 1, name: 'label 1', voxels: ones, ml: ones / 1000 }]);

    const wrongGrid = encodeNifti({ ...mask, dims: [10, 10, 10], data: new Uint8Array(1000) });
    await expect(ws.api.updateLabelVolume(result.volumeId, wrongGrid)).rejects.toThrow(/10×10×10/);

    // Back in the set's vocabulary: hippocampus (1) → 37 or 38 by side (the next tests check the split).
    const pair = await ws.api.addCorrectedPair(updated.volumeId);
    expect(pair.label.values!.length).toBeGreaterThan(1);
    expect(pair.label.values!.every((v) => [0, 37, 38].includes(v))).toBe(true);
    await expect(ws.api.addCorrectedPair(t1.id)).rejects.toThrow(/not the result of a run/);
    const restarted = createWorkstation({ mode: 'headless', version: 'test', starter: false, dataDir, libraryDir: join(dataDir, 'library') });
    const stored = (await restarted.api.listContextSets()).find((s) => s.name === SET)!;
    expect(stored.pairs).toHaveLength(4);
    expect(stored.pairs.at(-1)).toMatchObject({ id: pair.id, label: { sha256: pair.label.sha256 }, image: { sha256: stored.pairs[0].image.sha256 } });
  });

  test('left and right run as two structures stay 37 and 38 in the stored pair, voxel for voxel', async () => {
    await ws.api.addLibraryPair({ set: SET_LR, task: TASK, scanner: 'colin27 (MNI)', imageVolumeId: t1.id, labelVolumeId: aal.id });
    const run = await ws.api.runTask({
      targetVolumeId: t1.id,
      contextSet: SET_LR,
      structures: [
        { name: 'left hippocampus', labels: [37] },
        { name: 'right hippocampus', labels: [38] },
      ],
      miniContext: 4,
      device: 'cpu',
      method: 'model',
      align: 'none',
    });
    const mask = ws.volumes.get(run.volumeId);
    // The drawing layer holds structure k as value k: paint a block of each, erase everything else.
    const edited = new Uint8Array(mask.data.length);
    const [nx, ny] = mask.dims;
    const at = (i: number, j: number, k: number) => i + nx * (j + ny * k);
    for (let k = 60; k < 66; k++)
      for (let j = 100; j < 106; j++)
        for (let i = 0; i < 6; i++) {
          edited[at(110 + i, j, k)] = 1;
          edited[at(60 + i, j, k)] = 2;
        }
    const updated = await ws.api.updateLabelVolume(run.volumeId, encodeNifti({ ...mask, data: edited }), 'drawing.nii');
    const pair = await ws.api.addCorrectedPair(updated.volumeId);
    expect(pair.label.values).toEqual([0, 37, 38]);
    const stored = await readNifti(pair.label.path);
    expect(stored.data[at(112, 102, 62)]).toBe(37);
    expect(stored.data[at(62, 102, 62)]).toBe(38);
    expect(Array.from(stored.data).filter((v) => v === 37).length).toBe(216);
    expect(Array.from(stored.data).filter((v) => v === 38).length).toBe(216);
  });

  test("one hippocampus structure (37 38) corrected to AAL's own hippocampi is stored as AAL's 37 and 38", async () => {
    const run = await ws.api.runTask({ targetVolumeId: t1.id, contextSet: SET_LR, miniContext: 4, device: 'cpu', method: 'model', align: 'none' });
    expect(run.structures.map((s) => s.name)).toEqual(['hippocampus']);
    const atlas = ws.volumes.get(aal.id);
    const truth = Array.from(atlas.data, (v) => Math.round(v * atlas.slope + atlas.intercept));
    // The whole correction: structure 1 exactly where AAL has either hippocampus, nothing elsewhere.
    const drawn = Uint8Array.from(truth, (v) => (v === 37 || v === 38 ? 1 : 0));
    const mask = ws.volumes.get(run.volumeId);
    const updated = await ws.api.updateLabelVolume(run.volumeId, encodeNifti({ ...mask, data: drawn }), 'drawing.nii');
    const pair = await ws.api.addCorrectedPair(updated.volumeId);
    expect(pair.label.values).toEqual([0, 37, 38]);
    const stored = await readNifti(pair.label.path);
    const wrong = truth.filter((v, i) => (v === 37 || v === 38) && stored.data[i] !== v).length;
    expect(wrong, "voxels stored with the other side's value").toBe(0);
    expect(Array.from(stored.data).filter((v) => v !== 0).length).toBe(drawn.reduce((n, v) => n + v, 0));
  });
});

describe('splitting a structure of several values by where the set puts them', () => {
  const line = (values: number[]): Volume => testVolume([values.length, 1, 1], Uint8Array.from(values));

  test('positions are fractions of each map grid, averaged over maps', async () => {
    const c = await labelCentroids([line([0, 37, 0, 0, 0, 0, 0, 0, 38, 0]), line([37, 0, 0, 0, 38])], [37, 38, 99]);
    expect([...c.keys()]).toEqual([37, 38]);
    expect(c.get(37)![0]).toBeCloseTo((0.15 + 0.1) / 2, 10);
    expect(c.get(38)![0]).toBeCloseTo((0.85 + 0.9) / 2, 10);
  });

  test('each voxel of the structure takes the nearest value; other structures keep their one value', () => {
    const at = (x: number): [number, number, number] => [x, 0.5, 0.5];
    const out = remapCorrected(
      line([1, 1, 1, 1, 2, 2, 1, 1, 1, 0]),
      [37, 77],
      [
        [
          { value: 37, at: at(0.1) },
          { value: 38, at: at(0.9) },
        ],
        null,
      ],
    );
    expect(Array.from(out)).toEqual([37, 37, 37, 37, 77, 77, 38, 38, 38, 0]);
    expect(out).toBeInstanceOf(Uint8Array);
    expect(remapCorrected(line([1, 2]), [17, 300], [null, null])).toBeInstanceOf(Uint16Array);
  });

  test('a set stored in another orientation than the target keeps left and right apart', async () => {
    // The set's map runs right-to-left (axis 0 points to -x, as in LIA-stored maps); the target runs left-to-right.
    const flipped = {
      ...line([0, 37, 0, 0, 0, 0, 0, 0, 38, 0]),
      affine: [
        [-1, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 1],
      ],
    };
    const c = await labelCentroids([flipped], [37, 38]);
    expect(c.get(37)![0]).toBeCloseTo(0.85, 10);
    const out = remapCorrected(
      line([0, 1, 0, 0, 0, 0, 0, 0, 1, 0]),
      [37],
      [
        [
          { value: 37, at: c.get(37)! },
          { value: 38, at: c.get(38)! },
        ],
      ],
    );
    expect(Array.from(out)).toEqual([0, 38, 0, 0, 0, 0, 0, 0, 37, 0]);
  });
});

describe('worklist (the app side of neuroverse batch)', () => {
  test('runs each ticked scan like a single run, names a scan that cannot run, and gives the batch CSV', async () => {
    const copy = ws.volumes.add(scaledCopy(ws.volumes.get(t1.id), 1.05), 'colin27 ×1.05', 'image');
    const gone = ws.volumes.add(scaledCopy(ws.volumes.get(t1.id), 0.95), 'colin27 ×0.95', 'image');
    await ws.api.closeVolume(gone.id);
    const settings = { contextSet: SET, method: 'model' as const, align: 'none' as const, device: 'cpu' as const, miniContext: 2 };
    const events: ApiEvent[] = [];
    const off = ws.onEvent((e) => e.jobId === 'worklist-1' && events.push(e));
    const r = await ws.api.runWorklist({ targetVolumeIds: [t1.id, gone.id, copy.id], ...settings, jobId: 'worklist-1' });
    off();
    expect(r.rows.map((x) => [x.scan, x.status])).toEqual([
      [t1.name, 'ok'],
      [`volume ${gone.id}`, 'error'],
      ['colin27 ×1.05', 'ok'],
    ]);
    expect(r.rows[1].message).toMatch(new RegExp(`no open volume with id ${gone.id}`));
    // Each scan's result is what a single run with the same settings gives.
    const single = await ws.api.runTask({ targetVolumeId: copy.id, ...settings });
    expect(Array.from(ws.volumes.get(r.rows[2].result!.volumeId).data)).toEqual(Array.from(ws.volumes.get(single.volumeId).data));
    const lines = r.csv.trim().split('\r\n');
    expect(lines[0]).toBe(
      'scan,structure,labels,volume_ml,side,asymmetry_index,pct_icv,percentile,norm,doubtful_ml,lesion_count,method,align,context_set,status,message',
    );
    expect(lines.filter((l) => l.includes(',ok,'))).toHaveLength(2);
    expect(lines.find((l) => l.startsWith('colin27 ×1.05'))).toContain(`hippocampus,37+38,${r.rows[2].result!.structures[0].ml}`);
    // Progress names the scan and rises over the whole list.
    const fractions = events.filter((e): e is ProgressEvent => e.type === 'progress').map((e) => e.fraction ?? 0);
    expect(fractions.at(-1)).toBeGreaterThan(0.6);
    expect(events.some((e) => e.type === 'progress' && /scan 3 of 3 \(colin27 ×1\.05\)/.test(e.message))).toBe(true);
  });
});
