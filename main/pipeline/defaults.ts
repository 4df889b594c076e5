import type { Task } from '../common/task.js';
import { FUSION_IDS } from '../fusion/ids.js';
import type { FusionId } from '../fusion/ids.js';
import { LESION_METHODS, type LesionMethod } from '../lesion/ids.js';
import type { AlignMode } from '../registration/types.js';
import { RESTORATION_METHODS, type RestorationMethod } from '../restoration/ids.js';

/**
 * How a result is made: the in-context model; atlas fusion of the aligned labels (segmentation, fusion/methods.ts);
 * for lesions (a label that is somewhere else in every patient) a classifier or an intensity threshold fitted on
 * the examples at run time (lesion/); or a classical restoration fitted on the example pairs at run time
 * (generation: non-local means for noise, a bias-field correction for intensity non-uniformity).
 */
export type Method = 'model' | FusionId | LesionMethod | RestorationMethod;
export const METHODS: readonly Method[] = ['model', ...FUSION_IDS, ...LESION_METHODS, ...RESTORATION_METHODS];

/** Whether a method fuses aligned label maps (no model). */
export function isFusion(m: Method): m is FusionId {
  return (FUSION_IDS as readonly string[]).includes(m);
}

/** Whether a method is a classical restoration (no model, no alignment). */
export function isRestoration(m: Method): m is RestorationMethod {
  return (RESTORATION_METHODS as readonly string[]).includes(m);
}

/** Whether a method segments lesions from the examples' voxels (no model, no alignment). */
export function isLesionMethod(m: Method | undefined): m is LesionMethod {
  return m !== undefined && (LESION_METHODS as readonly string[]).includes(m);
}

/** Whether a lesion run may use a method: the lesion methods, or a model (one trained for lesions; docs/lesions.md). */
export function isLesionRunMethod(m: Method): boolean {
  return isLesionMethod(m) || m === 'model';
}

/**
 * Defaults, chosen by held-out Dice on the five real dev heads whose cold one-click with four pairs stays within a
 * minute on a 2-core machine (issue 24; docs/alignment.md has the table): joint label fusion after affine
 * alignment (0.862 mean Dice of 4 against majority vote's 0.736 at the same alignment). Restoration tasks by
 * held-out PSNR on the same heads with noise or a bias field added (docs/restoration.md): the classical
 * restoration, which the bundled model does not reach; other generation tasks run the model, aligned affinely.
 */
export const DEFAULTS = {
  segment: { method: 'jlf' as Method, align: 'affine' as AlignMode },
  generate: { method: 'model' as Method, align: 'affine' as AlignMode },
  /** Restoration tasks (noise, bias; restoration/restore.ts decides which a task is). */
  restore: { noise: 'nlm' as Method, bias: 'bias-field' as Method },
  /**
   * Lesion runs (`--lesion`): the classifier, the better mean Dice in leave-one-out over the seven dev targets (clearly
   * on MS, level with the threshold on gliomas; docs/lesions.md); no alignment, as a lesion is not where the examples'
   * lesions are.
   */
  lesion: { method: 'classifier' as Method, align: 'none' as AlignMode },
};

/** A model run's alignment when neither the user nor the model's manifest names one. */
export const MODEL_ALIGN: AlignMode = 'affine';

/**
 * The method and alignment of a run from what the user said: naming a model means the model; a model run
 * aligns as its manifest says it was trained (else MODEL_ALIGN). A lesion run takes the lesion default unless a model is named. Generation
 * without a method or model runs the classical restoration the task asks for (`restoration`: from the set's task
 * name or the examples, restoration/restore.ts), and the model for other generation tasks (skull stripping).
 */
export function chooseMethod(task: Task, asked: { method?: Method; modelNamed?: boolean; restoration?: RestorationMethod | null; lesion?: boolean }): Method {
  if (asked.lesion) return asked.method ?? (asked.modelNamed ? 'model' : DEFAULTS.lesion.method);
  if (task === 'generate') return asked.method ?? (asked.modelNamed ? 'model' : (asked.restoration ?? 'model'));
  return asked.method ?? (asked.modelNamed ? 'model' : DEFAULTS.segment.method);
}

export function chooseAlign(task: Task, method: Method, asked: AlignMode | undefined, manifestAlign?: AlignMode): AlignMode {
  // Classical restoration works on each example's own grid: nothing to align.
  if (isRestoration(method)) return 'none';
  if (asked) return asked;
  if (isLesionMethod(method)) return DEFAULTS.lesion.align;
  if (task === 'generate') return manifestAlign ?? DEFAULTS.generate.align;
  return method === 'model' ? (manifestAlign ?? MODEL_ALIGN) : DEFAULTS.segment.align;
}

/** Aligned runs frame the target by its context labels' box plus this margin (training's 10 voxels at 1 mm). */
export const BRAIN_MARGIN_MM = 10;

/** Rough seconds per pair on one core, for the Run panel's estimate (measured on 256³ heads, docs/alignment.md). */
export const SECONDS_PER_PAIR: Record<AlignMode, number> = { none: 0, affine: 10, deformable: 35 };
