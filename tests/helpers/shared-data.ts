import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** ../shared/data beside the checkout (CI lays it there); tests that need it skip with a message when absent. */
export const SHARED_DATA = resolve(process.env.NEUROVERSE_SHARED_DATA ?? resolve(import.meta.dirname, '../../../shared/data'));
export const hasSharedData = existsSync(resolve(SHARED_DATA, 'dicom'));
if (!hasSharedData) console.warn(`shared data not found at ${SHARED_DATA}: tests that need it are skipped`);

export const dicomDir = (p: string) => resolve(SHARED_DATA, 'dicom', p);
