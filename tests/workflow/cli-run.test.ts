import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { importCheckpoint } from '../../main/engine/index.js';
import { readNifti } from '../../main/imaging/index.js';
import { neuroverse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { FIXTURES } from '../engine/fixture-helpers.js';
import { writePair } from '../library/fixtures.js';

// `neuroverse run --context-set NAME` through the installed CLI (dist/): the stored pairs, in set order,
// go through the same engine orchestration (main/engine/run-task.ts) as the app's runTask.
const tmp = tempDir();
const env = { NEUROVERSE_LIBRARY: join(tmp, 'library'), NEUROVERSE_DATA_DIR: join(tmp, 'data') };
const model = join(tmp, 'tiny');
let target: string;

beforeAll(async () => {
  await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), model, { grid: [32, 32, 32] });
  for (const seed of [1, 2]) {
    const p = await writePair(tmp, seed, { values: [1, 2] });
    if (seed === 1) target = p.image;
    const r = neuroverse(['library', 'add-pair', '--set', 'syn', '--task', 'blob', '--label', '1', '--scanner', 'synthetic', p.image, p.label], env);
    expect(r.code, r.stderr).toBe(0);
  }
});

describe('neuroverse run --context-set', () => {
  test('runs with the stored pairs and the set task labels; the mask is on the target grid', async () => {
    const out = join(tmp, 'seg.nii.gz');
    const r = neuroverse(
      [
        'run',
        '--align',
        'none',
        '--model',
        model,
        '--target',
        target,
        '--context-set',
        'syn',
        '--mini-context',
        '1',
        '--device',
        'cpu',
        '--out',
        out,
        '--json',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(j).toMatchObject({ out, task: 'segment', contextSize: 2, miniContext: 1, provider: 'cpu' });
    // --device cpu is tried alone: no other provider appears in the chain's record.
    expect(j.providerAttempts).toEqual([{ provider: 'cpu', outcome: 'used', reason: 'CPU execution provider' }]);
    for (const k of ['load', 'preprocess', 'targetEncoder', 'context', 'decoder', 'postprocess', 'total']) expect(typeof j.seconds[k]).toBe('number');
    const mask = await readNifti(out);
    expect(mask.dims.slice(0, 3)).toEqual([16, 16, 16]);
    expect([...new Set(mask.data)].every((v) => v === 0 || v === 1)).toBe(true);
  });

  test('bad use is one line on stderr and a non-zero exit', () => {
    const missing = neuroverse(['run', '--align', 'none', '--model', model, '--target', target, '--context-set', 'nope', '--out', join(tmp, 'x.nii.gz')], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope/);
    const both = neuroverse(
      [
        'run',
        '--align',
        'none',
        '--model',
        model,
        '--target',
        target,
        '--context-set',
        'syn',
        '--context',
        `${target},${target}`,
        '--out',
        join(tmp, 'y.nii.gz'),
      ],
      env,
    );
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/not both/);
    const label = neuroverse(
      ['run', '--align', 'none', '--model', model, '--target', target, '--context-set', 'syn', '--label', '9', '--out', join(tmp, 'z.nii.gz')],
      env,
    );
    expect(label.code).not.toBe(0);
    expect(label.stderr).toMatch(/label value\(s\) 9 occur in none/);
    const zero = neuroverse(
      ['run', '--align', 'none', '--model', model, '--target', target, '--context-set', 'syn', '--auto-context', '0', '--out', join(tmp, 'w.nii.gz')],
      env,
    );
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--auto-context must be a positive integer/);
    const unaligned = neuroverse(
      ['run', '--align', 'none', '--model', model, '--target', target, '--context-set', 'syn', '--auto-context', '1', '--out', join(tmp, 'v.nii.gz')],
      env,
    );
    expect(unaligned.code).not.toBe(0);
    expect(unaligned.stderr).toMatch(/compares the aligned images/);
  });

  test('--auto-context ranks the stored pairs for the target and uses the best; the JSON says which and records only those', () => {
    const out = join(tmp, 'auto.nii.gz');
    const r = neuroverse(
      ['run', '--align', 'affine', '--method', 'vote', '--target', target, '--context-set', 'syn', '--auto-context', '1', '--out', out, '--json'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(j.contextSize).toBe(1);
    expect(j.contextChoice).toHaveLength(2);
    // The target is pair 1's own image: it fits itself best.
    expect(j.contextChoice.find((c: { rank: number }) => c.rank === 1)).toMatchObject({ chosen: true, set: 'syn' });
    expect(j.contextChoice.find((c: { rank: number }) => c.rank === 1).similarity).toBeCloseTo(1, 3);
    expect(j.provenance).toMatchObject({
      type: 'AUTOMATIC',
      method: 'vote',
      alignment: 'affine',
      contextSet: { name: 'syn', pairs: 1, identity: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) },
    });
    expect(typeof j.seconds.choose).toBe('number');
  });
});
