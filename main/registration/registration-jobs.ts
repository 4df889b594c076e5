import type { StepProgress } from '../compute/protocol.js';
import type { VoxelBox } from '../engine/processing/foreground-box.js';
import type { AlignMode, LabelKind, PlainVolume } from './types.js';

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
