/** Volumetry of a label mask: volumes, left/right asymmetry, % of intracranial volume, percentiles for age and sex. */
export { volumetry, volumetryCsv, volumetryRecords, VOLUMETRY_COLUMNS, ASYMMETRY_FORMULA } from './table.js';
export type { VolumetryOptions, VolumetryRecord } from './table.js';
export { normPercentile, loadNormTables, checkNormTable, PUBLISHED_NORMS, NO_BUNDLED_NORMS_NOTE } from './norms.js';
export { demographicsOf, parseDicomAge, ageBetween } from './demographics.js';
export { asegName, parseStructureName, ASEG_STRUCTURES } from './labels.js';
export type * from './types.js';
