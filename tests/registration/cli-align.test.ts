import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import { neuroverse, ROOT } from '../helpers/cli.js';
import { SHARED_DATA } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';
import { dice, moved, rigid, syntheticHead } from './synthetic.js';

const tmp = tempDir('nv-cli-align-');
const env = { NEUROVERSE_DATA_DIR: join(tmp, 'data') };
const head = syntheticHead();

async function contexts(k: number): Promise<string[]> {
  const args: string[] = [];
  for (let i = 1; i <= k; i++) {
    const m = rigid(3 * i, [2 * i, -3, i]);
    const img = join(tmp, `ctx${i}-image.nii.gz`);
    const lab = join(tmp, `ctx${i}-label.nii.gz`);
    if (!existsSync(img)) {
      await writeNifti(img, moved(head.image, m));
      await writeNifti(lab, moved(head.label, m));
    }
    args.push('--context', `${img},${lab}`);
  }
  return args;
}

describe('neuroverse run --align / --method', () => {
  it('atlas vote of affinely aligned pairs needs no model and finds the structure; a rerun registers nothing', async () => {
    const target = join(tmp, 'target.nii.gz');
    await writeNifti(target, head.image);
    const out = join(tmp, 'vote.nii.gz');
    const ctx = await contexts(3);
    const r = neuroverse(['run', '--target', target, ...ctx, '--label', '7', '--align', 'affine', '--method', 'vote', '--out', out, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim());
    expect(j).toMatchObject({ method: 'vote', align: 'affine', model: null, registered: 3, cachedAlignments: 0, contextSize: 3 });
    const mask = await readNifti(out);
    expect(mask.dims.slice(0, 3)).toEqual(head.image.dims);
    const truth = Array.from(head.label.data, (v) => (v === 7 ? 1 : 0));
    expect(dice(truth, mask.data)).toBeGreaterThan(0.85);

    const again = neuroverse(
      ['run', '--target', target, ...ctx, '--label', '300', '--align', 'affine', '--method', 'vote', '--out', join(tmp, 'vote2.nii.gz'), '--json'],
      env,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim())).toMatchObject({ registered: 0, cachedAlignments: 3 });
  });

  it('the model runs on aligned pairs framed like the target (bundled model)', async () => {
    const target = join(tmp, 'target.nii.gz');
    const out = join(tmp, 'model.nii.gz');
    const r = neuroverse(
      [
        'run',
        '--model',
        join(ROOT, 'resources/models/default'),
        '--target',
        target,
        ...(await contexts(2)),
        '--label',
        '7',
        '--align',
        'affine',
        '--device',
        'cpu',
        '--out',
        out,
        '--json',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim());
    expect(j).toMatchObject({ method: 'model', align: 'affine', contextSize: 2, provider: 'cpu' });
    // The atlas vote of the same aligned labels comes with it, and how far the model agrees with it.
    expect(j.baseline.voxels).toBeGreaterThan(0);
    expect(j.baseline.agreement).toBeGreaterThanOrEqual(0);
    expect(j.baseline.agreement).toBeLessThanOrEqual(1);
    const mask = await readNifti(out);
    expect(mask.dims.slice(0, 3)).toEqual(head.image.dims);
    expect([...new Set(mask.data)].every((v) => v === 0 || v === 1)).toBe(true);
  });

  it('bad combinations are usage errors (exit 2, one line)', async () => {
    const target = join(tmp, 'target.nii.gz');
    const ctx = await contexts(1);
    for (const extra of [
      ['--align', 'sideways'],
      ['--method', 'magic'],
      ['--method', 'vote', '--task', 'generate'],
      ['--method', 'vote', '--model', ROOT],
      ['--workers', '0'],
    ]) {
      const r = neuroverse(['run', '--target', target, ...ctx, '--out', join(tmp, 'never.nii.gz'), ...extra], env);
      expect(r.code, extra.join(' ')).toBe(2);
      // One line saying what is wrong, then the usage text.
      expect(r.stderr.split('\n')[0]).toMatch(/^neuroverse run: --(align|method|model|workers)/);
    }
    expect(existsSync(join(tmp, 'never.nii.gz'))).toBe(false);
  });
});

const dev = resolve(SHARED_DATA, 'freesurfer-dev');
describe.skipIf(!existsSync(dev))('on real heads with skull (freesurfer-dev)', () => {
  it('two affinely aligned pairs vote the thalamus of an unseen head', async () => {
    const out = join(tmp, 'sub01-thalamus.nii.gz');
    const ctx = ['02', '03'].flatMap((s) => ['--context', `${dev}/sub-${s}_T1.nii.gz,${dev}/sub-${s}_aseg.nii.gz`]);
    const r = neuroverse(
      ['run', '--target', `${dev}/sub-01_T1.nii.gz`, ...ctx, '--label', '10', '--label', '49', '--align', 'affine', '--method', 'vote', '--out', out, '--json'],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const truth = await readNifti(`${dev}/sub-01_aseg.nii.gz`);
    const t = Array.from(truth.data, (v) => (v === 10 || v === 49 ? 1 : 0));
    // Measured leave-one-out with four pairs: 0.86 (docs/alignment.md); two pairs do a little worse.
    expect(dice(t, (await readNifti(out)).data)).toBeGreaterThan(0.75);
  });
});
