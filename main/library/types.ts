/** Plain data shapes the library returns; JSON-safe so the API and `library list --json` can pass them on. */

import type { Task } from '../common/task.js';

export interface TaskSpec {
  name: string;
  /** Default 'segment'. */
  kind?: Task;
  /** The named structure (e.g. "left hippocampus"); free text. */
  structure?: string;
  /** Label values of that structure in the label maps; empty = any non-zero voxel. */
  labels?: number[];
  /**
   * The label marks a lesion (a tumour, a plaque: somewhere else in every patient, in a different number and size),
   * not anatomy: its sets run as lesion runs (learned from the examples' voxels, no alignment). Segmentation only;
   * absent = anatomy for a new task, whatever the task is for an existing one.
   */
  lesion?: boolean;
}

export interface TaskInfo {
  id: number;
  name: string;
  kind: Task;
  structure: string | null;
  labels: number[];
  /** Its label marks a lesion (TaskSpec.lesion), not anatomy. */
  lesion: boolean;
}

export interface ScannerSpec {
  name: string;
  manufacturer?: string;
  model?: string;
  fieldStrength?: number;
  sequence?: string;
  institution?: string;
  description?: string;
}

export interface ScannerInfo {
  id: number;
  name: string;
  manufacturer: string | null;
  model: string | null;
  fieldStrength: number | null;
  sequence: string | null;
  institution: string | null;
  description: string | null;
}

/** A volume file kept in the library (a pair's image or label, a run's result); not an open volume (session VolumeInfo). */
export interface StoredVolume {
  sha256: string;
  /** Absolute path of the stored file (read-only: never modify it, its name is its hash). */
  path: string;
  bytes: number;
  dims: number[];
  spacing: number[];
  datatype: string;
  /** Distinct values when it is a label map with few of them; null otherwise. */
  values: number[] | null;
}

export interface PairInfo {
  id: number;
  /** 1-based order within its set (the order context pairs are given to the model). */
  position: number;
  image: StoredVolume;
  label: StoredVolume;
  imageSource: string | null;
  labelSource: string | null;
  addedBy: string;
  addedAt: string;
}

export interface ContextSetInfo {
  id: number;
  name: string;
  description: string | null;
  task: TaskInfo;
  scanner: ScannerInfo;
  createdAt: string;
  updatedAt: string;
  pairs: PairInfo[];
}

export interface TrashedPair extends PairInfo {
  setName: string;
  deletedAt: string;
  deletedBy: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  user: string;
  action: string;
  detail: Record<string, unknown>;
}

export interface LibraryProblem {
  kind: 'missing-file' | 'hash-mismatch' | 'integrity' | 'orphan-file';
  detail: string;
}

/** A context set's preview: the middle axial slice of one pair (see thumbnail.ts for orientation). */
export interface SetThumbnail {
  setName: string;
  pairId: number;
  width: number;
  height: number;
  /** Voxel index k of the slice. */
  slice: number;
  /** width × height, row-major, 0–255 windowed image intensities. */
  gray: Uint8Array;
  /** width × height: segmentation, 1 inside the task's structure, 0 elsewhere; generation, the windowed output. */
  mask: Uint8Array;
}

/** Adding a pair from two volumes open in the app (the renderer never names paths). */
export interface AddPairFromVolumes {
  set: string;
  task: string | TaskSpec;
  scanner: string | ScannerSpec;
  imageVolumeId: string;
  labelVolumeId: string;
}

/** Whether two open volumes could be stored as a pair (checkPairGrid), before anything is stored. */
export interface PairGridCheck {
  /** Null when the pair can be added; otherwise one line naming the label and what differs. */
  problem: string | null;
  image: { name: string; dims: number[]; spacing: number[] };
  label: { name: string; dims: number[]; spacing: number[] };
}
