import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNifti } from '../../main/imaging/index.js';
import type { Affine, Volume } from '../../main/imaging/volume.js';
import { estimateIcv } from '../../main/pipeline/icv.js';
import { RegistrationCache, registrationPool } from '../../main/registration/index.js';
import { tempDir } from '../helpers/tmp.js';
import { dice, moved, rigid, syntheticHead } from '../registration/synthetic.js';

const tmp = tempDir('nv-icv-');
const pool = registrationPool(2);
afterAll(() => pool.close());

/** The synthetic head's intracranial space: its whole ellipsoid (every non-zero voxel of the image). */
function headMask(image: Volume): Volume & { data: Uint8Array } {
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = image.data[i] !== 0 ? 1 : 0;
  return { ...image, data, description: 'icv' };
}

describe('intracranial volume by atlas mask fusion', () => {
  it('atlases placed elsewhere (rotated, shifted, scaled) are registered back: the fused volume is the target head', async () => {
    const head = syntheticHead();
    const truthMl = (headMask(head.image).data.reduce((s, v) => s + v, 0) * 8) / 1000; // 2 mm voxels
    const places: Affine[] = [rigid(6, [5, -4, 3]), rigid(-5, [-6, 3, 2]), rigid(3, [2, 6, -5])];
    const atlases = [];
    for (const [k, m] of places.entries()) {
      const imageFile = join(tmp, `atlas${k}-t1.nii.gz`);
      const labelFile = join(tmp, `atlas${k}-icv.nii.gz`);
      await writeNifti(imageFile, moved(head.image, m));
      await writeNifti(labelFile, moved(headMask(head.image), m), { intent: 'label' });
      atlases.push({ imageFile, labelFile });
    }
    const r = await estimateIcv({ pool, cache: new RegistrationCache(join(tmp, 'cache')), target: head.image, atlases });
    expect(r.perAtlasMl).toHaveLength(3);
    for (const ml of r.perAtlasMl!) expect(Math.abs(ml - truthMl) / truthMl).toBeLessThan(0.05);
    expect(Math.abs(r.volumeMl - truthMl) / truthMl).toBeLessThan(0.05);
    expect(r.method).toBe('majority vote of 3 atlas intracranial masks registered to the scan (affine, elastix)');
    // The mask is on the target's grid, where the target's head is (rigid moves keep each atlas's volume, so only
    // the overlap shows that the atlases were brought back onto the target).
    expect(r.mask.length).toBe(head.image.data.length);
    expect(dice(headMask(head.image).data, r.mask)).toBeGreaterThan(0.97);
    expect((r.mask.reduce((s, v) => s + v, 0) * 8) / 1000).toBeCloseTo(r.volumeMl, 9);
    // A calibrated set (the bundled starter heads): every volume it gives is scaled, and the method says by what.
    const c = await estimateIcv({ pool, cache: new RegistrationCache(join(tmp, 'cache')), target: head.image, atlases, scale: 1.25, name: 'test set' });
    expect(c.volumeMl).toBeCloseTo(r.volumeMl * 1.25, 9);
    c.perAtlasMl!.forEach((ml, k) => expect(ml).toBeCloseTo(r.perAtlasMl![k] * 1.25, 9));
    expect(c.method).toBe('majority vote of 3 atlas intracranial masks registered to the scan (affine, elastix) × 1.25; test set');
  }, 120_000);

  it('no atlas: an error, not a volume of 0', async () => {
    const head = syntheticHead(16);
    await expect(estimateIcv({ pool, cache: new RegistrationCache(join(tmp, 'cache2')), target: head.image, atlases: [] })).rejects.toThrow(
      /at least one atlas/,
    );
  });
});
