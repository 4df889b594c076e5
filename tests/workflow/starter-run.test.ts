import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { readNifti } from '../../main/imaging/index.js';
import { createWorkstation } from '../../main/api/handlers.js';
import { asegStructure } from '../../main/common/aseg-names.js';
import { neuroverse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { writePair } from '../library/fixtures.js';

// `neuroverse run` with no --context on a fresh data folder, through the installed CLI (dist/). The app's
// starter folder is swapped for a small one ($NEUROVERSE_RESOURCES) so the run takes a second: what is
// tested is the install and the choice of set; the bundled pairs themselves are checked in
// tests/library/starter.test.ts, and measured on real heads in docs/alignment.md ("Starter library").
const tmp = tempDir();
const resources = join(tmp, 'resources');
const SET = 'Tiny anatomy (starter)';
let target: string;

beforeAll(async () => {
  const dir = join(resources, 'starter-library');
  mkdirSync(dir, { recursive: true });
  const pairs = [];
  for (const seed of [1, 2, 3]) {
    const p = await writePair(dir, seed, { values: [17, 53, 10] });
    pairs.push({ image: `img-${seed}.nii.gz`, label: `lab-${seed}.nii.gz`, source: p.image });
  }
  target = (await writePair(tmp, 9, { values: [17] })).image;
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      format: 'neuroverse-starter-library',
      version: 1,
      set: SET,
      task: 'tiny aseg',
      taskKind: 'segment',
      structure: 'aseg',
      scanner: 'synthetic (starter)',
      labels: [10, 17, 53],
      licence: 'test data',
      pairs,
    }),
  );
});

const envFor = (name: string) => ({ NEUROVERSE_DATA_DIR: join(tmp, name), NEUROVERSE_RESOURCES: resources, NEUROVERSE_LIBRARY: '' });
const run = (env: Record<string, string>, out: string, ...extra: string[]) =>
  neuroverse(['run', '--target', target, '--out', join(tmp, out), '--align', 'none', '--json', ...extra], env);

describe('neuroverse run with no context', () => {
  test('a fresh data folder: the starter set is installed, used, and named', async () => {
    const env = envFor('fresh');
    const r = run(env, 'a.nii.gz', '--label', '17', '--label', '53');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`context set: "${SET}"`);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(j.contextSet).toMatchObject({ name: SET, starter: true });
    expect(j.contextSize).toBe(3);
    const mask = await readNifti(join(tmp, 'a.nii.gz'));
    expect(mask.data.some((v) => v > 0)).toBe(true);
    // Listed once, however often the library is opened.
    const again = run(env, 'b.nii.gz', '--label', '17');
    expect(again.code, again.stderr).toBe(0);
    const list = neuroverse(['library', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    const sets = JSON.parse(list.stdout).sets as Array<{ name: string; pairs: unknown[] }>;
    expect(sets.map((s) => s.name)).toEqual([SET]);
    expect(sets[0].pairs).toHaveLength(3);
  });

  test('--structure hippocampus is labels 17 and 53; an unknown name is a usage error', async () => {
    const env = envFor('names');
    const byName = run(env, 'hip-name.nii.gz', '--structure', 'hippocampus');
    const byLabel = run(env, 'hip-label.nii.gz', '--label', '17', '--label', '53');
    const left = run(env, 'hip-left.nii.gz', '--structure', 'left hippocampus');
    for (const r of [byName, byLabel, left]) expect(r.code, r.stderr).toBe(0);
    const [a, b, c] = await Promise.all(['hip-name', 'hip-label', 'hip-left'].map((f) => readNifti(join(tmp, `${f}.nii.gz`))));
    expect(Buffer.from(a.data as Uint8Array).equals(Buffer.from(b.data as Uint8Array))).toBe(true);
    const count = (v: { data: ArrayLike<number> }) => Array.from(v.data).filter((x) => x > 0).length;
    expect(count(c)).toBeGreaterThan(0);
    expect(count(c)).toBeLessThan(count(a));
    const bad = run(env, 'bad.nii.gz', '--structure', 'hipocampus');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/no structure "hipocampus"/);
  });

  test("a user's own set that holds the labels wins over the starter; the starter serves the labels only it has", async () => {
    const env = envFor('own');
    const p = await writePair(tmp, 21, { values: [17, 53] });
    const add = neuroverse(
      ['library', 'add-pair', '--set', 'my hippocampus', '--task', 'hip', '--label', '17', '--scanner', 'my scanner', p.image, p.label],
      env,
    );
    expect(add.code, add.stderr).toBe(0);
    const mine = run(env, 'own.nii.gz', '--structure', 'hippocampus');
    expect(mine.code, mine.stderr).toBe(0);
    expect(JSON.parse(mine.stdout.trim().split('\n').at(-1)!).contextSet).toMatchObject({ name: 'my hippocampus', starter: false });
    const thalamus = run(env, 'thal.nii.gz', '--label', '10');
    expect(thalamus.code, thalamus.stderr).toBe(0);
    expect(JSON.parse(thalamus.stdout.trim().split('\n').at(-1)!).contextSet).toMatchObject({ name: SET, starter: true });
  });
});

describe("the app's first click on a fresh data folder", () => {
  test('runTask without a set suggests the starter and runs a named structure with it', async () => {
    const dataDir = join(tmp, 'app');
    const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir, resources });
    const opened = await ws.openPath(target, { role: 'image' });
    const id = (opened as { volume: { id: string } }).volume.id;
    expect(await ws.api.suggestContextSet(id)).toMatchObject({ setName: SET, reason: expect.stringMatching(/starter/) });
    const r = await ws.api.runTask({ targetVolumeId: id, structures: [asegStructure('hippocampus')!], method: 'vote', align: 'none', jobId: 'first' });
    expect(r).toMatchObject({ contextSet: SET, contextSize: 3 });
    expect(r.structures.find((s) => s.name === 'hippocampus')?.voxels).toBeGreaterThan(0);
    expect((await ws.api.listContextSets()).map((s) => s.name)).toEqual([SET]);
  });
});
