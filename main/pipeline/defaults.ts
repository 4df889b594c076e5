import type { Task } from '../common/task.js';
import type { AlignMode } from '../registration/types.js';
import { LESION_METHODS, type LesionMethod } from '../lesion/segment-lesions.js';

/**
 * How a segmentation is made: the in-context model, or atlas fusion (majority vote of aligned labels); for lesions
 * (a label that is somewhere else in every patient) a classifier or an intensity threshold fitted on the examples at
 * run time (main/lesion/).
 */
export type Method = 'model' | 'vote' | LesionMethod;
export const METHODS: readonly Method[] = ['model', 'vote', ...LESION_METHODS];

export function isLesionMethod(m: Method | undefined): m is LesionMethod {
  return m !== undefined && (LESION_METHODS as readonly string[]).includes(m);
}

/**
 * Defaults, chosen by held-out Dice on the five real dev heads within ~3 minutes on a 2-core machine with
 * four pairs (docs/alignment.md has the table): generation is always aligned affinely (issue 10).
 */
export const DEFAULTS = {
  segment: { method: 'vote' as Method, align: 'deformable' as AlignMode },
  generate: { method: 'model' as Method, align: 'affine' as AlignMode },
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
 * aligns as its manifest says it was trained (else MODEL_ALIGN); generation always runs the model.
 */
export function chooseMethod(task: Task, asked: { method?: Method; modelNamed?: boolean; lesion?: boolean }): Method {
  if (task === 'generate') return 'model';
  if (asked.lesion) return asked.method ?? DEFAULTS.lesion.method;
  return asked.method ?? (asked.modelNamed ? 'model' : DEFAULTS.segment.method);
}

export function chooseAlign(task: Task, method: Method, asked: AlignMode | undefined, manifestAlign?: AlignMode): AlignMode {
  if (asked) return asked;
  if (task === 'generate') return manifestAlign ?? DEFAULTS.generate.align;
  if (isLesionMethod(method)) return DEFAULTS.lesion.align;
  return method === 'model' ? (manifestAlign ?? MODEL_ALIGN) : DEFAULTS.segment.align;
}

/** Aligned runs frame the target by its context labels' box plus this margin (training's 10 voxels at 1 mm). */
export const BRAIN_MARGIN_MM = 10;

/** Rough seconds per pair on one core, for the Run panel's estimate (measured on 256³ heads, docs/alignment.md). */
export const SECONDS_PER_PAIR: Record<AlignMode, number> = { none: 0, affine: 10, deformable: 60 };
