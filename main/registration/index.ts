/** Context pairs registered to the target (elastix in compute workers), cached on disk. */
export { alignPairs, volumeHash } from './align.js';
export type { AlignedSet, AlignOptions } from './align.js';
export { RegistrationCache, DEFAULT_CACHE_BYTES } from './cache.js';
export { registrationPool } from './pool.js';
export { ALIGN_MODES } from './types.js';
export type { AlignedPair, AlignMode, LabelKind, PairFiles } from './types.js';
export type { RegistrationJobs } from './registration-jobs.js';
