import { InputError } from '../../common/errors.js';
import { isOrientationCode } from '../../imaging/reorient.js';
import type { Architecture } from '../model/architecture.js';
import type { Task } from '../../common/task.js';

export const MANIFEST_FILE = 'manifest.json';
export const PACKAGE_FORMAT = 'neuroverse-model-package';
export const PACKAGE_FORMAT_VERSION = 1;

export type GraphRole = 'targetEncoder' | 'contextBranch' | 'targetDecoder';
export const GRAPH_ROLES: GraphRole[] = ['targetEncoder', 'contextBranch', 'targetDecoder'];
export const GRAPH_FILES: Record<GraphRole, string> = {
  targetEncoder: 'target_encoder.onnx',
  contextBranch: 'context_branch.onnx',
  targetDecoder: 'target_decoder.onnx',
};

/** Which of a package's graph sets a session runs: fp32 always exists; int8 where the package has it. */
export type Precision = 'fp32' | 'int8';

export const INT8_GRAPH_FILES: Record<GraphRole, string> = {
  targetEncoder: 'target_encoder.int8.onnx',
  contextBranch: 'context_branch.int8.onnx',
  targetDecoder: 'target_decoder.int8.onnx',
};

export type GraphEntries = Record<GraphRole, { file: string; sha256: string; bytes: number }>;

/** An int8 CPU variant of the graphs (quant/int8.ts): how it was made, and on what it was calibrated. */
export interface Int8Variant {
  graphs: GraphEntries;
  weights: 'int8 symmetric per output channel';
  activations: 'uint8 asymmetric per tensor, min-max calibrated';
  /** Operators kept in fp32. */
  keptFloat: string[];
  calibration: { cases: string[]; data: string[] };
  createdAt: string;
}

/** How raw intensities become model input: clip to the [lower, upper] quantiles, then min-max to [0, 1]. */
export interface IntensityNormalization {
  method: 'percentile-minmax';
  lower: number;
  upper: number;
}

/**
 * How each volume is placed in the grid: the whole field of view (what the official checkpoint's importer
 * assumes), or the foreground's bounding box (threshold on the normalised image) plus a margin, which is how
 * our own models were trained (brains framed by their bounding box).
 */
export type GridFitRule = { method: 'field-of-view' } | { method: 'foreground-box'; threshold: number; marginMm: number };

export const FIELD_OF_VIEW: GridFitRule = { method: 'field-of-view' };

/**
 * How a run on aligned pairs frames target and pairs (they share the target's grid): around where the chosen
 * structure lies in the warped context labels ("structure": finer voxels for small structures; what models
 * trained on aligned episodes expect, native-models/neuroverse3d/aligned.py), or around all their labels
 * ("labels": the brain for a full label map). Absent: "labels" with the pipeline's margin.
 */
export interface AlignedFrameRule {
  around: 'structure' | 'labels';
  marginMm: number;
}

export interface Manifest {
  format: typeof PACKAGE_FORMAT;
  formatVersion: number;
  name: string;
  architecture: Architecture;
  /** Model grid in voxels; every edge must be divisible by 2^(stages-1). */
  grid: [number, number, number];
  normalization: IntensityNormalization;
  /** Absent in older packages: the whole field of view. */
  fit?: GridFitRule;
  /**
   * Voxel-axis order the model was trained on (e.g. "LIA"): every volume is reoriented to it (permutation and
   * flips from its affine) before the fit, and results are mapped back. Absent: arrays go in as stored.
   */
  orientation?: string;
  /**
   * How context pairs should be aligned to the target for this model (what it was trained for); absent:
   * the app's default for model runs (pipeline/defaults.ts).
   */
  alignment?: 'none' | 'affine' | 'deformable';
  alignedFrame?: AlignedFrameRule;
  tasks: Task[];
  /** Raw-output threshold for segmentation masks. */
  threshold: number;
  opset: number;
  graphs: GraphEntries;
  /** Absent: the package has fp32 graphs only. */
  int8?: Int8Variant;
  provenance: {
    source: string;
    sourceFormat: 'torch-zip' | 'safetensors';
    sourceSha256: string;
    importedAt: string;
    importer: string;
    parameters: number;
    hyperParameters?: unknown;
    notes?: string;
  };
  /** Filled by the training/evaluation work; null until a model has been evaluated. */
  evaluation: Record<string, unknown> | null;
}

export const DEFAULT_NORMALIZATION: IntensityNormalization = { method: 'percentile-minmax', lower: 0.02, upper: 0.98 };

/** Structural check of a parsed manifest; every problem names the manifest file. */
export function validateManifest(m: unknown, file: string): Manifest {
  const fail = (problem: string): never => {
    throw new InputError(file, problem, 'bad-model');
  };
  if (typeof m !== 'object' || m === null) fail('manifest is not a JSON object');
  const o = m as Partial<Manifest>;
  if (o.format !== PACKAGE_FORMAT) fail(`format is "${String(o.format)}", expected "${PACKAGE_FORMAT}"`);
  if (o.formatVersion !== PACKAGE_FORMAT_VERSION) fail(`unsupported formatVersion ${String(o.formatVersion)}`);
  const a = o.architecture;
  if (!a || a.name !== 'neuroverse3d' || !Array.isArray(a.channels) || a.channels.length < 2) {
    fail('architecture must be {name: "neuroverse3d", channels: [...]} with at least two stages');
  }
  const grid = o.grid;
  const factor = 2 ** (a!.channels.length - 1);
  if (!Array.isArray(grid) || grid.length !== 3 || grid.some((g) => !Number.isInteger(g) || g <= 0 || g % factor !== 0)) {
    fail(`grid must be three positive integers divisible by ${factor}`);
  }
  const n = o.normalization;
  if (!n || n.method !== 'percentile-minmax' || !(n.lower >= 0 && n.lower < n.upper && n.upper <= 1)) {
    fail('normalization must be {method: "percentile-minmax", lower, upper} with 0 <= lower < upper <= 1');
  }
  const f = o.fit;
  if (f !== undefined) {
    const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    const okBox = f?.method === 'foreground-box' && finite(f.threshold) && f.threshold > 0 && f.threshold < 1 && finite(f.marginMm) && f.marginMm >= 0;
    if (!(f?.method === 'field-of-view' || okBox)) {
      fail('fit must be {method: "field-of-view"} or {method: "foreground-box", threshold in (0, 1), marginMm >= 0}');
    }
  }
  if (o.orientation !== undefined && !(typeof o.orientation === 'string' && isOrientationCode(o.orientation))) {
    fail(`orientation must be three axis letters such as "LIA" or "RAS" (got ${JSON.stringify(o.orientation)})`);
  }
  if (o.alignment !== undefined && !['none', 'affine', 'deformable'].includes(o.alignment)) {
    fail(`alignment must be none, affine or deformable (got ${JSON.stringify(o.alignment)})`);
  }
  const af = o.alignedFrame;
  if (
    af !== undefined &&
    !((af?.around === 'structure' || af?.around === 'labels') && typeof af.marginMm === 'number' && Number.isFinite(af.marginMm) && af.marginMm >= 0)
  ) {
    fail('alignedFrame must be {around: "structure" | "labels", marginMm >= 0}');
  }
  if (typeof o.threshold !== 'number') fail('threshold must be a number');
  if (!Array.isArray(o.tasks) || o.tasks.some((t) => t !== 'segment' && t !== 'generate')) fail('tasks must list segment/generate');
  for (const role of GRAPH_ROLES) {
    const g = o.graphs?.[role];
    if (!g || typeof g.file !== 'string' || !/^[0-9a-f]{64}$/.test(g.sha256 ?? '')) fail(`graphs.${role} needs file and sha256`);
    if (g!.file.includes('/') || g!.file.includes('\\') || g!.file.startsWith('.')) fail(`graphs.${role}.file must be a plain file name`);
  }
  if (o.int8 !== undefined) {
    for (const role of GRAPH_ROLES) {
      const g = o.int8?.graphs?.[role];
      if (!g || typeof g.file !== 'string' || !/^[0-9a-f]{64}$/.test(g.sha256 ?? '')) fail(`int8.graphs.${role} needs file and sha256`);
      if (g!.file.includes('/') || g!.file.includes('\\') || g!.file.startsWith('.')) fail(`int8.graphs.${role}.file must be a plain file name`);
    }
  }
  return o as Manifest;
}
