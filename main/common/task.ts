/**
 * What a run does with its context pairs: segment (label maps in, a label map out) or generate (images
 * in, an image out, e.g. skull stripping). The one task word in the code, from model manifests to the
 * library's sets; the library's older nouns survive only where they are stored (library/task-word.ts).
 */
export type Task = 'segment' | 'generate';
