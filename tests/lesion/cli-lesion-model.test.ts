import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { lesionStats } from '../../main/export/lesion-stats.js';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import { neuroverse, ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { testVolume } from '../helpers/volumes.js';
import { DIMS, syntheticCase } from './synthetic.js';

const dir = tempDir('neuroverse-lesion-model-');
const TINY = join(ROOT, 'tests/fixtures/engine/tiny.safetensors');

async function writeCase(name: string, c: ReturnType<typeof syntheticCase>) {
  const flair = join(dir, `${name}_FLAIR.nii.gz`);
  const label = join(dir, `${name}_lesion.nii.gz`);
  await writeNifti(flair, testVolume(DIMS, c.image.channels[0]));
  await writeNifti(label, testVolume(DIMS, c.label), { intent: 'label' });
  return { flair, label };
}

describe('neuroverse run --lesion --method model', () => {
  test('runs an imported model unaligned on the pairs and reports the lesions of its mask as the other methods do', async () => {
    // The tiny fixture's weights are random: this checks the wiring (framing, report, refusals), not accuracy.
    const pkg = join(dir, 'pkg');
    // A manifest that asks for affine alignment: a lesion run is unaligned all the same.
    const imp = neuroverse(['model', 'import', TINY, '--out', pkg, '--grid', '32', '--tasks', 'segment', '--alignment', 'affine']);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    const a = await writeCase('a', syntheticCase([{ at: [12, 14, 12], radius: 5 }], 1));
    const b = await writeCase('b', syntheticCase([{ at: [26, 25, 19], radius: 4 }], 2));
    const t = await writeCase('t', syntheticCase([{ at: [15, 27, 18], radius: 5 }], 3));
    const out = join(dir, 'out.nii.gz');
    const csv = join(dir, 'lesions.csv');
    const base = ['run', '--target', t.flair, '--context', `${a.flair},${a.label}`, '--context', `${b.flair},${b.label}`];
    const env = { NEUROVERSE_DATA_DIR: join(dir, 'data') };
    const r = neuroverse([...base, '--lesion', '--method', 'model', '--model', pkg, '--out', out, '--lesion-csv', csv, '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ method: 'model', align: 'none', registered: 0, qc: [], lesion: { method: 'model', rule: null, exampleDice: null } });
    const mask = await readNifti(out);
    expect(mask.dims.slice(0, 3)).toEqual(DIMS);
    expect(new Set(Array.from(mask.data as ArrayLike<number>)).size).toBeLessThanOrEqual(2);
    const stats = lesionStats(mask);
    expect(report.lesion.count).toBe(stats.count);
    expect(report.lesion.totalMl).toBeCloseTo(stats.totalMl, 3);
    expect(readFileSync(csv, 'utf8')).toContain(`total (${stats.count} lesions)`);

    // Naming a model in a lesion run means the model; the same mask.
    const named = neuroverse([...base, '--lesion', '--model', pkg, '--out', join(dir, 'named.nii.gz'), '--json'], env);
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout).lesion.method).toBe('model');
    expect(Array.from((await readNifti(join(dir, 'named.nii.gz'))).data as ArrayLike<number>)).toEqual(Array.from(mask.data as ArrayLike<number>));

    const channels = neuroverse([...base, '--lesion', '--method', 'model', '--model', pkg, '--target-channel', t.flair, '--out', join(dir, 'x.nii.gz')], env);
    expect(channels.code).not.toBe(0);
    expect(channels.stderr).toMatch(/reads one channel/);
    const aligned = neuroverse([...base, '--lesion', '--method', 'model', '--model', pkg, '--align', 'affine', '--out', join(dir, 'y.nii.gz')], env);
    expect(aligned.code).not.toBe(0);
    expect(aligned.stderr).toMatch(/not aligned/);
    const unnamed = neuroverse([...base, '--lesion', '--method', 'model', '--out', join(dir, 'w.nii.gz')], env);
    expect(unnamed.code).not.toBe(0);
    expect(unnamed.stderr).toMatch(/needs the model named/);
    const fitted = neuroverse([...base, '--method', 'classifier', '--model', pkg, '--out', join(dir, 'z.nii.gz')], env);
    expect(fitted.code).not.toBe(0);
    expect(fitted.stderr).toMatch(/does not apply to method classifier/);
  });
});
