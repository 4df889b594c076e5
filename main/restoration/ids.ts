/**
 * The classical restorations' ids and names as plain data, and which one a task's name asks for (the renderer's Run
 * panel reads them to preselect a set's default; it cannot load restore.ts and the filters, which use Node's modules).
 */
export const RESTORATION_METHODS = ['nlm', 'bias-field'] as const;
export type RestorationMethod = (typeof RESTORATION_METHODS)[number];
export const RESTORATION_NAMES: Record<RestorationMethod, string> = { nlm: 'non-local means', 'bias-field': 'bias-field correction' };

/** Which restoration a task's name asks for ("denoise", "bias correction"), or null when it does not say. */
export function methodFromTaskName(name: string | undefined): RestorationMethod | null {
  if (!name) return null;
  const n = name.toLowerCase();
  if (/bias|inhomogen|non-?uniform|shading|n4/.test(n)) return 'bias-field';
  if (/nois|denois|rician|nlm/.test(n)) return 'nlm';
  return null;
}
