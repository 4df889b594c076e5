import { isRestoration, RESTORATION_NAMES, type Method } from '../../../main/api/renderer-values';

/** A method as the Run panel names it: the restorations by their words (the form's choice and the result line), the others by id. */
export const restorationName = (m: Method): string => (isRestoration(m) ? RESTORATION_NAMES[m] : m);
