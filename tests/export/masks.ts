import type { Volume } from '../../main/imaging/volume.js';

/**
 * A test mask on a volume's grid: an off-centre ball (17) and a box (53) in different octants, so that a
 * flipped or transposed frame mapping would put voxels on the wrong side and the pixel check would see it.
 */
export function twoStructureMask(v: Volume): Volume {
  const [nx, ny, nz] = v.dims;
  const data = new Uint8Array(nx * ny * nz);
  const c = [nx * 0.35, ny * 0.4, nz * 0.55];
  const r = Math.min(nx, ny, nz) * 0.12;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++) {
        const idx = i + j * nx + k * nx * ny;
        if (Math.hypot(i - c[0], j - c[1], k - c[2]) < r) data[idx] = 17;
        else if (i > nx * 0.6 && i < nx * 0.75 && j > ny * 0.55 && j < ny * 0.7 && k > nz * 0.3 && k < nz * 0.5) data[idx] = 53;
      }
  return { ...v, data, slope: 1, intercept: 0, description: 'test mask', source: { kind: 'memory' } };
}
