import type { StepProgress } from '../compute/protocol.js';
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

/** Parameters of one alignment job, sent to a worker. */
export interface RegisterJob {
  mode: AlignMode;
  kind: LabelKind;
  target: PlainVolume;
  image: { file: string };
  label: { file: string };
  /** Folder the worker writes label.nii.gz (and image.nii.gz, transform.json) into. */
  outDir: string;
  /** Also resample the image (the model needs it; atlas vote does not). */
  warpImage: boolean;
  /**
   * transform.json files from earlier jobs, applied in order to target points (one file: this pair's own
   * registration; two: target → reference, then reference → pair): resample only, register nothing.
   */
  transformFiles?: string[];
}

/** Registration only: `fixed` to `moving` (the transform maps fixed points to moving points). */
export interface TransformJob {
  mode: Exclude<AlignMode, 'none'>;
  fixed: { file: string } | { volume: PlainVolume };
  moving: { file: string } | { volume: PlainVolume };
  outFile: string;
}

export interface RegisterResult {
  labelBox: VoxelBox | null;
  /** Whether image.nii.gz was written. */
  image: boolean;
  seconds: { register: number; warp: number };
}

/** The jobs of the registration workers (worker.ts). */
export type RegistrationJobs = {
  register: { payload: RegisterJob; result: RegisterResult; progress: StepProgress };
  transform: { payload: TransformJob; result: { seconds: number }; progress: StepProgress };
};
