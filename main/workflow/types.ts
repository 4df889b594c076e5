/** Plain data of the one-click workflow (models, runs, corrected masks); JSON-safe for the API. */
import type { Task } from '../common/task.js';
import type { VolumetryResult } from '../export/volumetry/types.js';
import type { Method } from '../pipeline/defaults.js';
import type { AlignMode } from '../registration/types.js';
import type { DeviceRequest, PrecisionRequest, ProviderAttempt } from '../engine/runtime/provider-types.js';

export interface ModelInfo {
  /** The package folder's name; the renderer picks a model by this id, never by path. */
  id: string;
  /** Manifest name. */
  name: string;
  tasks: Task[];
  grid: [number, number, number];
  /** Graph sets in the package: fp32 always; int8 where it was imported with --precision int8 (CPU only). */
  precisions: Array<'fp32' | 'int8'>;
  /** Which search place it came from: $NEUROVERSE_MODELS, <dataDir>/models or the bundled resources. */
  origin: 'env' | 'data' | 'resources';
  /** The manifest's evaluation card as stored (native-models/neuroverse3d/card.py); null when not evaluated. */
  evaluation: ModelEvaluation | null;
}

/**
 * The evaluation card of a model package. Only the fields the app reads are named; the rest of the card
 * passes through untouched. It comes from a file on disk, so readers check each field (see model-card.ts).
 */
export interface ModelEvaluation {
  /** One-line summary of the evaluation run. */
  summary?: unknown;
  /** Held-out segmentation scores; `table` is Dice per structure at the largest context size. */
  segmentation?: unknown;
  [field: string]: unknown;
}

/** One structure of a multi-structure segmentation run; its labels are values in the set's label maps. */
export interface StructureRequest {
  name: string;
  labels: number[];
}

export interface RunTaskRequest {
  targetVolumeId: string;
  /** Context set name; absent = the default for the target (see suggestContextSet). */
  contextSet?: string;
  /** Segmentation only; absent = the set's own task structure and labels. */
  structures?: StructureRequest[];
  /** Model id from listModels(); absent = the first model that can run the set's task. */
  model?: string;
  miniContext?: number | 'auto';
  /** Execution provider: auto walks CUDA, DirectML, CoreML, WebGPU, CPU (engine/runtime/providers.ts). */
  device?: DeviceRequest;
  /** auto: the package's int8 variant on the CPU where it has one, else fp32. */
  precision?: PrecisionRequest;
  /** How context pairs are brought onto the target; absent = the default for the task (pipeline/defaults.ts). */
  align?: AlignMode;
  /**
   * How the result is made (pipeline/defaults.ts); absent = the default. For a generation set whose task name asks
   * for a restoration (denoise, bias) the default is that restoration, returned only when it brings its examples
   * closer to their targets (the guard); naming it runs it even when it does not. Give no model with it: a model
   * named means the model.
   */
  method?: Method;
  /** Use only the N pairs of the set that fit this target best (ranked after affine alignment); absent = all. */
  autoContext?: number;
  /** Use only these pairs of the set (the user's own choice, e.g. after looking at a ranking); absent = all. */
  pairIds?: number[];
  jobId?: string;
}

/** How one pair of the set scored for this target (automatic context choice), and whether it was used. */
export interface PairChoice {
  pairId: number;
  /** 1-based position in the set. */
  position: number;
  /** What the user knows it by: "pair N", and the image's file name when it was added from one. */
  name: string;
  /** Mean local correlation with the target around the structure, after affine alignment (−1…1). */
  similarity: number;
  /** 0–1: the set's scanner against the target's DICOM header. */
  headerMatch: number;
  rank: number;
  chosen: boolean;
}

export interface ContextChoiceInfo {
  structure: string;
  n: number;
  from: number;
  pairs: PairChoice[];
}

export interface LabelStat {
  /** Value in the result label map (structure k of the request is value k+1). */
  label: number;
  name: string;
  voxels: number;
  ml: number;
}

export interface RunTaskResult {
  /** The result volume, open in the session: role 'label' (segmentation) or 'image' (generation). */
  volumeId: string;
  task: Task;
  contextSet: string;
  /** Model id; null for atlas vote, which uses no model. */
  model: string | null;
  method: Method;
  align: AlignMode;
  /** Pairs registered in this run and reused from the registration cache; null without alignment. */
  alignment: { registered: number; cached: number; referenceRegistered: number; seconds: number } | null;
  contextSize: number;
  /** Model runs only (null for atlas vote). */
  miniContext: number | null;
  miniContexts: number;
  provider: string | null;
  providerReason: string | null;
  /** Model runs: every provider the chain considered and what happened to it (failed, unavailable, used). */
  providerAttempts: ProviderAttempt[] | null;
  precision: 'fp32' | 'int8' | null;
  /** Segmentation: one entry per structure, counted on the combined label map that is shown. */
  structures: LabelStat[];
  /**
   * Model runs on aligned pairs, per structure: the atlas vote of the same aligned labels (its mL) and the
   * Dice between the model's mask and the vote's — a low agreement is a reason to look twice.
   */
  baseline: { name: string; voteMl: number; agreement: number }[] | null;
  /**
   * Aligned segmentation runs: the doubt map (0–1; how evenly the aligned context labels split, at least one
   * half where model and vote disagree), open in the session as a 'probability' volume, and per structure the
   * mL whose label is in doubt (doubt ≥ 0.5). Null otherwise, and when nothing is in doubt (one pair voted alone).
   */
  uncertainty: { volumeId: string; structures: { name: string; doubtfulMl: number }[] } | null;
  /**
   * Checks of the aligned context pairs, segmentation with alignment only (pipeline/qc.ts): an example in other
   * contrast, little like the target, without the structure or with it at an odd size, or fields of view that cut it.
   */
  qc: { kind: string; structure: string; pairId: number | null; value: number | null; message: string }[];
  /** With autoContext: per structure, every pair's score and which were used. Null otherwise. */
  contextChoice: ContextChoiceInfo[] | null;
  /**
   * Classical restoration runs: why this method (asked for, or the set's task name for the default), how its
   * examples fared (the guard), and whether the result is the restoration or the input returned unchanged because
   * the default made the examples worse. The model's generation in tiles too: why = its tiles and voxel size, its
   * guard on the examples, always applied. Null otherwise.
   */
  restoration: { why: string; examples: string; applied: boolean } | null;
  /**
   * Lesion runs (a set whose task marks a lesion, or a lesion method): the lesion count, each lesion's volume (largest
   * first; 26-connected components, export/lesion-stats.ts) and the total; `exampleDice` is how the rule learned from
   * the set's pairs scored on them. Null otherwise.
   */
  lesion: { count: number; totalMl: number; lesions: { index: number; volumeMl: number }[]; exampleDice: number | null } | null;
  seconds: Record<string, number>;
  runId: number | null;
}

/** A worklist: the open scans to run, each with the same settings (those of RunTaskRequest but its target). */
export interface WorklistRequest extends Omit<RunTaskRequest, 'targetVolumeId' | 'pairIds'> {
  targetVolumeIds: string[];
  /** Estimate each scan's intracranial volume for % ICV and percentiles (default true; a few registrations per scan). */
  icv?: boolean;
}

export interface WorklistRow {
  targetVolumeId: string;
  /** The scan's name as it is open. */
  scan: string;
  status: 'ok' | 'error';
  /** Why it failed (one line, naming the scan), or the QC warnings of an ok run. */
  message: string;
  result: RunTaskResult | null;
  /** Segmentations: the result's volumetry on its scan (sides, asymmetry, % ICV, percentiles) and its warnings. */
  volumetry: { volumetry: VolumetryResult; warnings: string[] } | null;
}

export interface WorklistResult {
  rows: WorklistRow[];
  /** The rows as the batch's volumes.csv (one line per scan and structure; docs/batch.md). */
  csv: string;
}

export interface ContextSetSuggestion {
  setName: string | null;
  /** Why this set: "scanner matches (SIEMENS Prisma)", "first set for the task", or why none. */
  reason: string;
}

export interface UpdatedLabelVolume {
  volumeId: string;
  labels: LabelStat[];
}
