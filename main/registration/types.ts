/** Registration's shared words, used by the pipeline and the workflow too; the workers' job table is registration-jobs.ts. */
import type { VoxelBox } from '../engine/processing/foreground-box.js';

/**
 * How context pairs are brought onto the target before a run: `none` keeps each pair where its scanner put
 * it; `affine` registers it rigid then affine; `deformable` adds a B-spline stage (elastix).
 */
export type AlignMode = 'none' | 'affine' | 'deformable';
export const ALIGN_MODES: readonly AlignMode[] = ['none', 'affine', 'deformable'];

/** How a context label is resampled: label maps by nearest neighbour (values kept), images linearly. */
export type LabelKind = 'label' | 'image';

/** A context pair as files on disk, as the library and the CLI hold them. */
export interface PairFiles {
  imageFile: string;
  labelFile: string;
}

/** The geometry and raw voxels a worker needs; a Volume without its source bookkeeping. */
export interface PlainVolume {
  dims: number[];
  spacing: number[];
  affine: number[][];
  data: ArrayLike<number> & { buffer: ArrayBufferLike; BYTES_PER_ELEMENT: number };
  slope: number;
  intercept: number;
}

/** One pair after alignment: image and label resampled onto the target's voxel grid (cached files). */
export interface AlignedPair extends PairFiles {
  /** The pair as the user named it, for messages. */
  source: PairFiles;
  /** Voxel box of the warped label's non-zero voxels in the target grid (null: generation "labels"). */
  labelBox: VoxelBox | null;
  cached: boolean;
  /** Seconds the registration took when it ran (0 for a cache hit). */
  seconds: number;
}
