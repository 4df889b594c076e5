/**
 * The few runtime values of the services that the renderer shows or computes with: pure functions and constants
 * from modules without Node imports (vite bundles them). The renderer imports main/ only through main/api and
 * main/common (scripts/check-layers.mjs), so what it may use is listed here.
 */
export { cardLines, type CardLines } from '../workflow/model-card.js';
export { chooseAlign, chooseMethod, DEFAULTS, isFusion, isLesionMethod, isRestoration, SECONDS_PER_PAIR, type Method } from '../pipeline/defaults.js';
export { LESION_METHODS } from '../lesion/ids.js';
export { methodFromTaskName, RESTORATION_METHODS, RESTORATION_NAMES } from '../restoration/ids.js';
export type { AlignMode } from '../registration/types.js';
export { taskWord } from '../library/task-word.js';
export type { DeviceRequest, PrecisionRequest, ProviderAvailability } from '../engine/runtime/provider-types.js';
export { FUSION_IDS, FUSION_NAMES, type FusionId } from '../fusion/ids.js';
