/**
 * The lesion methods' ids as plain data: the renderer reads them through main/api/renderer-values.ts and cannot load
 * segment-lesions.ts (it reads files with Node). Adding a method: its id here, its code there.
 */
export const LESION_METHODS = ['classifier', 'threshold'] as const;
export type LesionMethod = (typeof LESION_METHODS)[number];
