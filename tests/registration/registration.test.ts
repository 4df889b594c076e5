import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError } from '../../main/api/errors.js';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { alignPairs, RegistrationCache, registrationPool } from '../../main/registration/index.js';
import { ELASTIX_PACKAGE } from '../../main/registration/parameters.js';
import { tempDir } from '../helpers/tmp.js';
import { dice, moved, rigid, syntheticHead, transposed } from './synthetic.js';

const tmp = tempDir('nv-registration-');
const pool = registrationPool(2);
afterAll(() => pool.close());

const head = syntheticHead();
/** A known affine: rotation 7° about z, 6 % wider along x, 4 % shear, and a shift of (6, −5, 4) mm. */
const shift = ((r) => [
  [1.06 * r[0][0], r[0][1] + 0.04, 0, r[0][3]],
  [1.06 * r[1][0], r[1][1], 0, r[1][3]],
  [0, 0, 1, r[2][3]],
  [0, 0, 0, 1],
])(rigid(7, [6, -5, 4]));

async function save(v: Volume, name: string): Promise<string> {
  const f = join(tmp, name);
  if (!existsSync(f)) await writeNifti(f, v);
  return f;
}

async function pairOf(image: Volume, label: Volume, name: string) {
  return { imageFile: await save(image, `${name}-image.nii.gz`), labelFile: await save(label, `${name}-label.nii.gz`) };
}

describe('alignment of context pairs', () => {
  it('package.json pins the elastix build the cache keys name', async () => {
    const pkg = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')));
    expect(`@itk-wasm/elastix@${pkg.dependencies['@itk-wasm/elastix']}`).toBe(ELASTIX_PACKAGE);
  });

  it('affine registration recovers a known affine (rotation, scale, shear, shift): the warped label lands on the target', async () => {
    const pair = await pairOf(moved(head.image, shift), moved(head.label, shift), 'shifted');
    const cache = new RegistrationCache(join(tmp, 'cache-affine'));
    const none = await alignPairs({ pool, cache, target: head.image, mode: 'none', kind: 'label', pairs: [pair], needImages: false });
    const affine = await alignPairs({ pool, cache, target: head.image, mode: 'affine', kind: 'label', pairs: [pair], needImages: true });
    const truth = head.label.data;
    const before = dice(truth, (await readNifti(none.pairs[0].labelFile)).data);
    const warped = await readNifti(affine.pairs[0].labelFile);
    const after = dice(truth, warped.data);
    // Left where the scanner put it, the pair misses its target; registered, it overlaps it.
    expect(before).toBeLessThan(0.6);
    expect(after).toBeGreaterThan(0.9);
    for (const v of [7, 300, 1000]) expect(dice(truth, warped.data, v)).toBeGreaterThan(0.85);
    // On the target's grid, with the target's geometry; the aligned image too.
    expect(warped.dims.slice(0, 3)).toEqual(head.image.dims);
    expect(warped.affine).toEqual(head.image.affine);
    const image = await readNifti(affine.pairs[0].imageFile);
    expect(image.dims.slice(0, 3)).toEqual(head.image.dims);
    expect(affine.labelBox).not.toBeNull();
  });

  it('the label warp keeps label values exactly, and a pair stored with other axes lands voxel for voxel (no alignment)', async () => {
    const pair = await pairOf(transposed(head.image), transposed(head.label), 'transposed');
    const cache = new RegistrationCache(join(tmp, 'cache-none'));
    const r = await alignPairs({ pool, cache, target: head.image, mode: 'none', kind: 'label', pairs: [pair], needImages: true });
    const warped = await readNifti(r.pairs[0].labelFile);
    expect(warped.data).toBeInstanceOf(Int16Array);
    expect(Array.from(warped.data)).toEqual(Array.from(head.label.data));
    // The image is resampled around the label's box (20 mm more, which covers the model's 10 mm framing margin).
    const image = await readNifti(r.pairs[0].imageFile);
    const box = r.labelBox!;
    const n = head.image.dims[0];
    let compared = 0;
    for (let z = box.lo[2] - 5; z <= box.hi[2] + 5; z++)
      for (let y = box.lo[1] - 5; y <= box.hi[1] + 5; y++)
        for (let x = box.lo[0] - 5; x <= box.hi[0] + 5; x++) {
          if ([x, y, z].some((c) => c < 0 || c >= n)) continue;
          const i = x + n * (y + n * z);
          expect(image.data[i]).toBe(head.image.data[i]);
          compared++;
        }
    expect(compared).toBeGreaterThan(10_000);
  });

  it('through a reference: target → reference, then reference → pair, lands where direct registration does', async () => {
    const pair = await pairOf(moved(head.image, shift), moved(head.label, shift), 'shifted');
    const ref = rigid(-5, [-4, 6, -3]);
    const reference = await save(moved(head.image, ref), 'reference-image.nii.gz');
    const cache = new RegistrationCache(join(tmp, 'cache-reference'));
    const r = await alignPairs({ pool, cache, target: head.image, mode: 'affine', kind: 'label', pairs: [pair], needImages: false, reference });
    expect(r.referenceRegistered).toBe(2);
    const warped = await readNifti(r.pairs[0].labelFile);
    expect(dice(head.label.data, warped.data)).toBeGreaterThan(0.88);
    // A second target reuses the pair's registration to the reference: only the target is registered.
    const target2 = moved(head.image, rigid(2, [1, 1, 1]));
    const r2 = await alignPairs({ pool, cache, target: target2, mode: 'affine', kind: 'label', pairs: [pair], needImages: false, reference });
    expect(r2.referenceRegistered).toBe(1);
  });

  it('a rerun takes every pair from the cache; a full cache drops its least recently used entries', async () => {
    const pair = await pairOf(moved(head.image, shift), moved(head.label, shift), 'shifted');
    const cache = new RegistrationCache(join(tmp, 'cache-affine'));
    const again = await alignPairs({ pool, cache, target: head.image, mode: 'affine', kind: 'label', pairs: [pair], needImages: true });
    expect(again).toMatchObject({ registered: 0, cached: 1 });
    expect(again.pairs[0].cached).toBe(true);

    const small = new RegistrationCache(join(tmp, 'cache-small'), 1);
    const a = await alignPairs({ pool, cache: small, target: head.image, mode: 'none', kind: 'label', pairs: [pair], needImages: false });
    const other = await pairOf(moved(head.image, rigid(-3, [2, 2, 2])), moved(head.label, rigid(-3, [2, 2, 2])), 'other');
    const b = await alignPairs({ pool, cache: small, target: head.image, mode: 'none', kind: 'label', pairs: [other], needImages: false });
    // The bound (1 byte) keeps only the entry just stored.
    expect(existsSync(a.pairs[0].labelFile)).toBe(false);
    expect(existsSync(b.pairs[0].labelFile)).toBe(true);
  });

  it('a vote run stores no image; a later model run resamples it with the stored transform, registering nothing', async () => {
    const s = rigid(4, [-4, 3, 0]);
    const pair = await pairOf(moved(head.image, s), moved(head.label, s), 'late-image');
    const cache = new RegistrationCache(join(tmp, 'cache-late'));
    const vote = await alignPairs({ pool, cache, target: head.image, mode: 'affine', kind: 'label', pairs: [pair], needImages: false });
    expect(existsSync(vote.pairs[0].imageFile)).toBe(false);
    const labelBefore = Array.from((await readNifti(vote.pairs[0].labelFile)).data);
    const model = await alignPairs({ pool, cache, target: head.image, mode: 'affine', kind: 'label', pairs: [pair], needImages: true });
    expect(existsSync(model.pairs[0].imageFile)).toBe(true);
    expect(model).toMatchObject({ registered: 0, cached: 1 });
    expect(Array.from((await readNifti(model.pairs[0].labelFile)).data)).toEqual(labelBefore);
  });

  it('cancel stops the running registrations and leaves nothing half-written in the cache', async () => {
    const pairs = await Promise.all(
      [1, 2, 3].map((k) => pairOf(moved(head.image, rigid(k, [k, 0, 0])), moved(head.label, rigid(k, [k, 0, 0])), `cancel-${k}`)),
    );
    const cache = new RegistrationCache(join(tmp, 'cache-cancel'));
    const ac = new AbortController();
    const run = alignPairs({ pool, cache, target: head.image, mode: 'deformable', kind: 'label', pairs, needImages: true, signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    await new Promise((r) => setTimeout(r, 200));
    expect(readdirSync(cache.root)).toEqual([]);
    // The pool carries on with fresh workers.
    const after = await alignPairs({ pool, cache, target: head.image, mode: 'none', kind: 'label', pairs: [pairs[0]], needImages: false });
    expect(after.registered).toBe(1);
  });

  it('a pair that cannot be registered fails with one error naming its file', async () => {
    const blank = { ...head.image, data: new Int16Array(head.image.data.length) };
    const pair = await pairOf(blank, head.label, 'blank');
    const cache = new RegistrationCache(join(tmp, 'cache-bad'));
    const err = await alignPairs({ pool, cache, target: head.image, mode: 'affine', kind: 'label', pairs: [pair], needImages: false }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain('blank-image.nii.gz');
    expect(err.message).toMatch(/blank/);

    // A label that after alignment lies outside the target's field of view.
    const far = rigid(0, [500, 0, 0]);
    const away = await pairOf(moved(head.image, far), moved(head.label, far), 'far');
    const e2 = await alignPairs({ pool, cache, target: head.image, mode: 'none', kind: 'label', pairs: [away], needImages: false }).catch((e) => e);
    expect(e2).toBeInstanceOf(InputError);
    expect(e2.message).toContain('far-label.nii.gz');
    expect(e2.message).toMatch(/outside the target's field of view/);

    // Not a scan at all: noise on a tiny grid far away, which elastix cannot register.
    const noise = {
      ...head.image,
      dims: [8, 8, 8],
      data: Int16Array.from({ length: 512 }, (_, i) => (i * 7919) % 1000),
      affine: moved(head.image, rigid(0, [900, 900, 900])).affine,
    };
    const noiseLabel = { ...noise, data: new Int16Array(512).fill(1) };
    const bad = await pairOf(noise, noiseLabel, 'noise');
    const e3 = await alignPairs({ pool, cache, target: head.image, mode: 'affine', kind: 'label', pairs: [bad], needImages: false }).catch((e) => e);
    expect(e3).toBeInstanceOf(InputError);
    expect(e3.message).toContain('noise-');
    expect(readdirSync(cache.root)).toEqual([]);
  });
});
