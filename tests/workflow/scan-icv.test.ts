import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { RegistrationCache, registrationPool } from '../../main/registration/index.js';
import { sha256File } from '../../main/util/hash.js';
import { scanIcv } from '../../main/workflow/scan-icv.js';
import { tempDir } from '../helpers/tmp.js';
import { moved, rigid, syntheticHead } from '../registration/synthetic.js';

const tmp = tempDir('nv-scan-icv-');
const pool = registrationPool(2);
afterAll(() => pool.close());

/** The head's voxels, or only those below its middle plane (`half`): two masks of known, different volume. */
function mask(image: Volume, half: boolean): Volume {
  const n = image.dims[0];
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = image.data[i] !== 0 && (!half || Math.floor(i / (n * n)) < n / 2) ? 1 : 0;
  return { ...image, data, description: 'icv' };
}

describe("a scan's intracranial volume for its volumetry", () => {
  it('uses `use` atlases, those the run registered first; a failed estimate is a warning, not an error', async () => {
    const head = syntheticHead();
    const services = { pool: () => pool, cache: new RegistrationCache(join(tmp, 'cache')) };
    const atlases = [];
    for (const [k, half] of [false, false, true].entries()) {
      const imageFile = join(tmp, `atlas${k}-t1.nii.gz`);
      const labelFile = join(tmp, `atlas${k}-icv.nii.gz`);
      // Each atlas a slightly different image (its own place), so each has its own content hash.
      await writeNifti(imageFile, moved(head.image, rigid(2 * k, [k, 0, 0])));
      await writeNifti(labelFile, moved(mask(head.image, half), rigid(2 * k, [k, 0, 0])), { intent: 'label' });
      atlases.push({ imageFile, labelFile });
    }
    const set = { atlases, use: 2 };
    const first = await scanIcv(head.image, set, services);
    expect(first.icv!.perAtlasMl).toHaveLength(2);
    const whole = first.icv!.perAtlasMl![0];
    // Without a preference the first two (whole heads); the run registered the third: it comes first.
    expect(first.icv!.perAtlasMl![1]).toBeCloseTo(whole, -1);
    const preferred = await scanIcv(head.image, set, services, 'affine', [await sha256File(atlases[2].imageFile)]);
    expect(preferred.icv!.perAtlasMl).toHaveLength(2);
    expect(preferred.icv!.perAtlasMl![0]).toBeLessThan(0.6 * whole);
    expect(preferred.icv!.method).toMatch(/^majority vote of 2 atlas intracranial masks/);
    const broken = await scanIcv(head.image, { atlases: [{ imageFile: join(tmp, 'missing.nii.gz'), labelFile: atlases[0].labelFile }] }, services);
    expect(broken.icv).toBeNull();
    expect(broken.warnings[0]).toMatch(/^the intracranial volume was not estimated \(.*missing\.nii\.gz.*\): no % ICV and no percentile$/);
  }, 180_000);
});
