import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createWorkstation, type Workstation } from '../../main/api/handlers.js';
import type { RunTaskResult, VolumeInfo } from '../../main/api/types.js';
import { readNifti, type Volume } from '../../main/imaging/index.js';
import { Library } from '../../main/library/library.js';
import { resourcesDir } from '../../main/settings/paths.js';
import { neuroverse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { moved, rigid } from '../registration/synthetic.js';

// The app's Run button and `neuroverse run` are two front ends of one orchestration (workflow/orchestrate-run.ts):
// the same request through both must give the same voxels, the same doubt and the same provenance.
const dataDir = tempDir();
const env = { NEUROVERSE_DATA_DIR: dataDir, NEUROVERSE_LIBRARY: join(dataDir, 'library') };
const SAMPLE_T1 = join(resourcesDir(), 'sample', 'colin27_t1.nii.gz');
const SET = 'hippocampus · two moved colin27';
let ws: Workstation;
let t1: VolumeInfo;

beforeAll(async () => {
  ws = createWorkstation({ mode: 'headless', version: 'test', dataDir, libraryDir: env.NEUROVERSE_LIBRARY });
  const [t, aal] = await ws.api.openSample();
  t1 = t;
  const task = { name: 'hippocampus', structure: 'hippocampus', labels: [37, 38] };
  // Two examples: the sample moved by two known rigid transforms; the second one's labels sit 3 voxels off its
  // image (an imperfect example), so the aligned labels disagree at the border and the vote has doubt to report.
  const atlas = ws.volumes.get(aal.id);
  for (const [m, offset] of [
    [rigid(5, [6, -4, 3]), 0],
    [rigid(-4, [-5, 5, -2]), 3],
  ] as const) {
    const img = ws.volumes.add(moved(ws.volumes.get(t.id), m), 'moved colin27', 'image');
    const lab = ws.volumes.add(moved(shiftedAlongX(atlas, offset), m), 'moved aal', 'label');
    await ws.api.addLibraryPair({ set: SET, task, scanner: 'colin27 (MNI)', imageVolumeId: img.id, labelVolumeId: lab.id });
  }
});

/** The same grid with its voxels moved by `d` along the first axis. */
function shiftedAlongX(v: Volume, d: number): Volume {
  const data = new Uint8Array(v.data.length);
  const nx = v.dims[0];
  for (let i = 0; i < data.length; i++) {
    const x = i % nx;
    if (x - d >= 0 && x - d < nx) data[i] = v.data[i - d];
  }
  return { ...v, data };
}

afterAll(async () => {
  await ws?.api.closeVolume(t1.id);
});

function cliRun(out: string, extra: string[]) {
  const r = neuroverse(['run', '--target', SAMPLE_T1, '--context-set', SET, '--label', '37', '--label', '38', '--out', out, '--json', ...extra], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

async function expectSameRun(app: RunTaskResult, cli: Record<string, unknown> & { out: string; provenance: Record<string, unknown> }) {
  const fromCli = await readNifti(cli.out);
  const fromApp = ws.volumes.get(app.volumeId);
  expect(fromCli.dims.slice(0, 3)).toEqual(fromApp.dims.slice(0, 3));
  let differ = 0;
  let inside = 0;
  for (let i = 0; i < fromApp.data.length; i++) {
    if (fromCli.data[i] > 0 !== fromApp.data[i] > 0) differ++;
    if (fromApp.data[i] > 0) inside++;
  }
  expect(inside).toBeGreaterThan(1000);
  expect(differ).toBe(0);
  expect(cli).toMatchObject({ method: app.method, align: app.align, contextSize: app.contextSize });
  // Everything the SEG and the audit log say of how it was made, but the app's run-log id.
  const library = await Library.open(env.NEUROVERSE_LIBRARY);
  const recorded = library.listAudit(50).find((e) => e.action === 'record-run' && (e.detail as { run?: number }).run === app.runId);
  library.close();
  expect(recorded, `run ${app.runId} in the audit log`).toBeDefined();
  const { runId: _runId, ...appProvenance } = (recorded!.detail as { provenance: Record<string, unknown> }).provenance;
  const { runId: cliRunId, ...cliProvenance } = cli.provenance;
  expect(cliRunId).toBeNull();
  expect(cliProvenance).toEqual(appProvenance);
}

describe('one orchestration for the app and the CLI', () => {
  test('atlas vote after affine alignment: same mask, same doubt, same provenance', async () => {
    const app = await ws.api.runTask({ targetVolumeId: t1.id, contextSet: SET, method: 'vote', align: 'affine' });
    const cli = cliRun(join(dataDir, 'vote.nii.gz'), ['--method', 'vote', '--align', 'affine']);
    await expectSameRun(app, cli);
    // The CLI found the app's registrations in the shared cache: nothing registered twice.
    expect(cli).toMatchObject({ registered: 0, cachedAlignments: 2 });
    expect(app.uncertainty).not.toBeNull();
    expect(cli.uncertainMl).toBe(app.uncertainty!.structures[0].doubtfulMl);
  }, 300_000);

  test('the bundled model on the same aligned pairs: same mask, same provenance (model name and weights)', async () => {
    const app = await ws.api.runTask({ targetVolumeId: t1.id, contextSet: SET, method: 'model', align: 'affine', device: 'cpu' });
    const cli = cliRun(join(dataDir, 'model.nii.gz'), ['--method', 'model', '--align', 'affine', '--device', 'cpu']);
    await expectSameRun(app, cli);
    expect(app.model).toBe('default');
    expect(cli.model).toBe(join(resourcesDir(), 'models', 'default'));
    expect(cli.baseline).toMatchObject({ agreement: app.baseline![0].agreement });
  }, 300_000);
});
