import { volumeOnGrid, type Volume } from '../../main/imaging/volume.js';

/** The identity voxel-to-world matrix: 1 mm voxels with voxel (0,0,0) at the world's origin. */
export const IDENTITY: number[][] = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];

/** A test volume in memory: 1 mm isotropic voxels, voxel (0,0,0) at the origin, data unscaled. */
export function testVolume(dims: readonly number[], data: Volume['data'], description = 'synthetic'): Volume {
  return volumeOnGrid({ dims: [...dims], spacing: [1, 1, 1], affine: IDENTITY }, data, description);
}
