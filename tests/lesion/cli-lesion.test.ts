import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { readNifti, writeNifti, type Volume } from '../../main/imaging/index.js';
import { neuroverse } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { testVolume } from '../helpers/volumes.js';
import { count, dice, DIMS, syntheticCase } from './synthetic.js';

const dir = tempDir('neuroverse-lesion-cli-');

function volume(data: Float32Array | Uint8Array): Volume {
  return testVolume(DIMS, data);
}

/** A case as files: FLAIR-like image, a second channel (the same anatomy, other contrast), and its mask. */
async function writeCase(name: string, c: ReturnType<typeof syntheticCase>) {
  const flair = join(dir, `${name}_FLAIR.nii.gz`);
  const t1 = join(dir, `${name}_T1.nii.gz`);
  const label = join(dir, `${name}_lesion.nii.gz`);
  const second = c.image.channels[0].map((x) => (x === 0 ? 0 : 500 - x));
  await writeNifti(flair, volume(c.image.channels[0]));
  await writeNifti(t1, volume(second));
  await writeNifti(label, volume(c.label), { intent: 'label' });
  return { flair, t1, label };
}

describe('neuroverse run --lesion', () => {
  test('learns the lesion from two-channel pairs, reports count and volumes, writes the CSV; bad pairs name their file', async () => {
    const truth = syntheticCase([{ at: [15, 27, 18], radius: 5 }], 3, { scale: 0.5, offset: 0 });
    const a = await writeCase('a', syntheticCase([{ at: [12, 14, 12], radius: 5 }], 1));
    const b = await writeCase('b', syntheticCase([{ at: [26, 25, 19], radius: 4 }], 2, { scale: 3, offset: 40 }));
    const t = await writeCase('t', truth);
    const out = join(dir, 'out.nii.gz');
    const csv = join(dir, 'lesions.csv');
    const r = neuroverse(
      [
        'run',
        '--lesion',
        '--target',
        t.flair,
        '--target-channel',
        t.t1,
        '--context',
        `${a.flair}+${a.t1},${a.label}`,
        '--context',
        `${b.flair}+${b.t1},${b.label}`,
        '--out',
        out,
        '--lesion-csv',
        csv,
        '--json',
      ],
      { NEUROVERSE_DATA_DIR: join(dir, 'data') },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ method: 'classifier', align: 'none', registered: 0, qc: [], lesion: { method: 'classifier', count: 1 } });
    const mask = await readNifti(out);
    const m = Uint8Array.from(mask.data as ArrayLike<number>);
    // The wiring is what this checks (channels, report, CSV); accuracy is lesion.test.ts's. With the default trees
    // (fitted for real brains of ~10⁶ voxels) two tiny synthetic examples leave the blob's rim out near the edge
    // (Dice ~0.7; docs/lesions.md), so the bar here is "the blob, not something else".
    expect(dice(m, truth.label)).toBeGreaterThan(0.6);
    expect(report.lesion.totalMl).toBeCloseTo(count(m) / 1000, 3);
    expect(readFileSync(csv, 'utf8').split('\r\n')[2]).toMatch(/^total \(1 lesions\),\d+,/);

    const threshold = neuroverse([
      'run',
      '--method',
      'threshold',
      '--target',
      t.flair,
      '--context',
      `${a.flair},${a.label}`,
      '--out',
      join(dir, 'thr.nii.gz'),
      '--json',
    ]);
    expect(threshold.code).toBe(0);
    expect(JSON.parse(threshold.stdout).lesion).toMatchObject({ method: 'threshold', count: 1 });

    const missing = neuroverse([
      'run',
      '--lesion',
      '--target',
      t.flair,
      '--target-channel',
      t.t1,
      '--context',
      `${a.flair},${a.label}`,
      '--out',
      join(dir, 'x.nii.gz'),
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(a.flair);
    expect(missing.stderr).toMatch(/1 channel\(s\) and the target 2/);

    const aligned = neuroverse([
      'run',
      '--lesion',
      '--align',
      'affine',
      '--target',
      t.flair,
      '--context',
      `${a.flair},${a.label}`,
      '--out',
      join(dir, 'y.nii.gz'),
    ]);
    expect(aligned.code).not.toBe(0);
    expect(aligned.stderr).toMatch(/not aligned/);
  });
});
