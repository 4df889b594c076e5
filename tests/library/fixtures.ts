import { join } from 'node:path';
import { writeNifti, type Volume } from '../../main/imaging/index.js';

/** Small synthetic NIfTI volumes on disk (real files, real encoder); `seed` makes each one distinct. */
export function syntheticImage(seed: number, n = 16, origin = [-8, -8, -8]): Volume {
  const data = new Int16Array(n * n * n);
  let x = Math.imul(seed, 2654435761) >>> 0;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0; // 32-bit LCG: deterministic "anatomy"
    data[i] = (x >>> 16) % 1000;
  }
  return volume(data, n, origin);
}

export function syntheticLabel(seed: number, n = 16, values = [1], origin = [-8, -8, -8]): Volume {
  const data = new Uint8Array(n * n * n);
  const lo = 2 + (seed % 4);
  for (let k = lo; k < n - 2; k++)
    for (let j = lo; j < n - 2; j++) for (let i = lo; i < n - 2; i++) data[i + n * (j + n * k)] = values[(i + j + k) % values.length];
  // A seed-specific tag on the k = 0 plane so every seed (below n²) gives a distinct file.
  const row = Math.floor(seed / n) % n;
  for (let i = 0; i <= seed % n; i++) data[i + n * row] = values[0];
  return volume(data, n, origin);
}

function volume(data: Int16Array | Uint8Array, n: number, origin: number[]): Volume {
  return {
    dims: [n, n, n],
    spacing: [1, 1, 1],
    affine: [
      [1, 0, 0, origin[0]],
      [0, 1, 0, origin[1]],
      [0, 0, 1, origin[2]],
      [0, 0, 0, 1],
    ],
    data,
    slope: 1,
    intercept: 0,
    description: 'synthetic',
    source: { kind: 'memory' },
  };
}

/** Writes pair `seed` as <dir>/img-<seed>.nii.gz and <dir>/lab-<seed>.nii.gz; returns their paths. */
export async function writePair(
  dir: string,
  seed: number,
  opts: { labelOrigin?: number[]; values?: number[]; size?: number } = {},
): Promise<{ image: string; label: string }> {
  const n = opts.size ?? 16;
  const image = join(dir, `img-${seed}.nii.gz`);
  const label = join(dir, `lab-${seed}.nii.gz`);
  await writeNifti(image, syntheticImage(seed, n), { overwrite: true });
  await writeNifti(label, syntheticLabel(seed, n, opts.values ?? [1], opts.labelOrigin), { overwrite: true, intent: 'label' });
  return { image, label };
}
