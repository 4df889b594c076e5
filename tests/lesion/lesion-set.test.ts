import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { createWorkstation, type Workstation } from '../../main/api/handlers.js';
import { writeNifti } from '../../main/imaging/index.js';
import { neuroverse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { testVolume } from '../helpers/volumes.js';
import { writePair } from '../library/fixtures.js';
import { DIMS, syntheticCase } from './synthetic.js';

// A context set whose task marks a lesion runs as a lesion run without being told: through the app's API (the Run
// panel) and `neuroverse run --context-set` alike. Both go through orchestrateRun; the CLI runs bin/ over dist/.
const dataDir = tempDir('neuroverse-lesion-set-');
const env = { NEUROVERSE_DATA_DIR: dataDir, NEUROVERSE_LIBRARY: join(dataDir, 'library'), NEUROVERSE_STARTER: 'off' };
const SET = 'glioma · synthetic';
const target = syntheticCase([{ at: [15, 27, 18], radius: 5 }], 3, { scale: 0.5, offset: 0 });
const targetFile = join(dataDir, 'target.nii.gz');
let ws: Workstation;

beforeAll(async () => {
  ws = createWorkstation({ mode: 'headless', version: 'test', dataDir, libraryDir: env.NEUROVERSE_LIBRARY, starter: false });
  const examples = [syntheticCase([{ at: [12, 14, 12], radius: 5 }], 1), syntheticCase([{ at: [26, 25, 19], radius: 4 }], 2, { scale: 3, offset: 40 })];
  for (const [i, c] of examples.entries()) {
    const img = ws.volumes.add(testVolume(DIMS, c.image.channels[0]), `case ${i} FLAIR`, 'image');
    const lab = ws.volumes.add(testVolume(DIMS, c.label), `case ${i} lesion`, 'label');
    await ws.api.addLibraryPair({ set: SET, task: { name: 'tumour', lesion: true }, scanner: 'synthetic', imageVolumeId: img.id, labelVolumeId: lab.id });
  }
  await writeNifti(targetFile, testVolume(DIMS, target.image.channels[0]));
  // An anatomy set beside it, to pool with.
  const p = await writePair(dataDir, 7);
  const img = await ws.openPath(p.image);
  const lab = await ws.openPath(p.label, { role: 'label' });
  if (img.kind !== 'volume' || lab.kind !== 'volume') throw new Error('expected volumes');
  await ws.api.addLibraryPair({
    set: 'hippo',
    task: { name: 'hippocampus' },
    scanner: 'synthetic',
    imageVolumeId: img.volume.id,
    labelVolumeId: lab.volume.id,
  });
});

describe('a lesion context set', () => {
  test('the app runs it with the lesion default (classifier, no alignment, no anatomy QC) and returns the lesions', async () => {
    const t = ws.volumes.add(testVolume(DIMS, target.image.channels[0]), 'target FLAIR', 'image');
    const r = await ws.api.runTask({ targetVolumeId: t.id, contextSet: SET });
    expect(r).toMatchObject({ method: 'classifier', align: 'none', alignment: null, model: null, qc: [], contextSize: 2 });
    expect(r.lesion).toMatchObject({ count: 1 });
    expect(r.lesion!.lesions).toHaveLength(1);
    expect(r.lesion!.totalMl).toBeCloseTo(r.lesion!.lesions[0].volumeMl, 6);
    // The same mL as the structure's line: the lesion mask is the result shown.
    expect(r.lesion!.totalMl).toBeCloseTo(r.structures[0].ml, 2);
    const threshold = await ws.api.runTask({ targetVolumeId: t.id, contextSet: SET, method: 'threshold' });
    expect(threshold).toMatchObject({ method: 'threshold', align: 'none', lesion: { count: 1 } });
    await expect(ws.api.runTask({ targetVolumeId: t.id, contextSet: SET, method: 'jlf' })).rejects.toThrow(
      `context set "${SET}" marks a lesion: its runs use the method classifier, threshold or model (got "jlf")`,
    );
    await expect(ws.api.runTask({ targetVolumeId: t.id, contextSet: SET, method: 'model' })).rejects.toThrow(/lesion run with the model needs the model named/);
    await expect(ws.api.runTask({ targetVolumeId: t.id, contextSet: SET, align: 'affine' })).rejects.toThrow(/lesion runs are not aligned/);
  });

  test('`neuroverse run --context-set` needs no --lesion; pooling it with an anatomy set is refused', () => {
    const out = join(dataDir, 'out.nii.gz');
    const r = neuroverse(['run', '--target', targetFile, '--context-set', SET, '--out', out, '--lesion-csv', join(dataDir, 'l.csv'), '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ method: 'classifier', align: 'none', registered: 0, lesion: { count: 1 } });
    const pooled = neuroverse(['run', '--target', targetFile, '--context-set', SET, '--context-set', 'hippo', '--out', out], env);
    expect(pooled.code).not.toBe(0);
    expect(pooled.stderr).toContain(
      `set "${SET}" marks a lesion and set "hippo" anatomy: a lesion is learned from the examples' voxels, anatomy by aligning them, so they cannot be pooled`,
    );
  });

  test('`neuroverse batch` on a lesion set gives each scan its lesion count in volumes.csv', () => {
    const scans = join(dataDir, 'scans');
    mkdirSync(scans, { recursive: true });
    copyFileSync(targetFile, join(scans, 'patient.nii.gz'));
    const out = join(dataDir, 'batch-out');
    const r = neuroverse(['batch', scans, '--out', out, '--context-set', SET], env);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = readFileSync(join(out, 'volumes.csv'), 'utf8').trim().split(/\r?\n/);
    const col = header.split(',');
    expect(rows).toHaveLength(1);
    const row = rows[0].split(',');
    expect(row[col.indexOf('status')]).toBe('ok');
    expect(row[col.indexOf('method')]).toBe('classifier');
    expect(row[col.indexOf('lesion_count')]).toBe('1');
    // The scan's one-page report counts the lesions on its mask, with each one's volume.
    const html = readFileSync(join(out, row[col.indexOf('scan')], 'report.html'), 'utf8');
    expect(html).toContain('<h2>Lesions</h2>');
    expect(html).toMatch(/<p>1 lesion, \d+\.\d{3} mL in all \(26-connected components of the mask\)\.<\/p>/);
  });
});
