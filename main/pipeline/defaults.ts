import type { Task } from '../common/task.js';
import { FUSION_IDS } from '../fusion/ids.js';
import type { FusionId } from '../fusion/ids.js';
import type { AlignMode } from '../registration/types.js';

/** How a segmentation is made: the in-context model, or atlas fusion of the aligned labels (fusion/methods.ts). */
export type Method = 'model' | FusionId;
export const METHODS: readonly Method[] = ['model', ...FUSION_IDS];

/** Whether a method fuses aligned label maps (no model). */
export function isFusion(m: Method): m is FusionId {
  return m !== 'model';
}

/**
 * Defaults, chosen by held-out Dice on the five real dev heads whose cold one-click with four pairs stays within a
 * minute on a 2-core machine (issue 24; docs/alignment.md has the table): joint label fusion after affine
 * alignment (0.846 mean Dice of 4 against majority vote's 0.730 at the same alignment). Generation is always
 * aligned affinely (issue 10).
 */
export const DEFAULTS = {
  segment: { method: 'jlf' as Method, align: 'affine' as AlignMode },
  generate: { method: 'model' as Method, align: 'affine' as AlignMode },
};

/** A model run's alignment when neither the user nor the model's manifest names one. */
export const MODEL_ALIGN: AlignMode = 'affine';

/**
 * The method and alignment of a run from what the user said: naming a model means the model; a model run
 * aligns as its manifest says it was trained (else MODEL_ALIGN); generation always runs the model.
 */
export function chooseMethod(task: Task, asked: { method?: Method; modelNamed?: boolean }): Method {
  if (task === 'generate') return 'model';
  return asked.method ?? (asked.modelNamed ? 'model' : DEFAULTS.segment.method);
}

export function chooseAlign(task: Task, method: Method, asked: AlignMode | undefined, manifestAlign?: AlignMode): AlignMode {
  if (asked) return asked;
  if (task === 'generate') return manifestAlign ?? DEFAULTS.generate.align;
  return method === 'model' ? (manifestAlign ?? MODEL_ALIGN) : DEFAULTS.segment.align;
}

/** Aligned runs frame the target by its context labels' box plus this margin (training's 10 voxels at 1 mm). */
export const BRAIN_MARGIN_MM = 10;

/** Rough seconds per pair on one core, for the Run panel's estimate (measured on 256³ heads, docs/alignment.md). */
export const SECONDS_PER_PAIR: Record<AlignMode, number> = { none: 0, affine: 10, deformable: 35 };
