import type { StateDict } from '../model/state-dict.js';
import type { WeightDtype } from './dtype.js';

/** What a checkpoint says about one tensor before any of its bytes are read: enough to check it against a model. */
export interface TensorHeader {
  dims: number[];
  dtype: WeightDtype;
}

/**
 * A checkpoint opened but not loaded. Reading happens in two steps so that the tensors' shapes and types can be
 * checked against the architecture (model/architecture.ts) while nothing but the headers is in memory: a hostile
 * file of a few bytes can declare terabytes, and only `load` allocates what the headers describe.
 */
export interface OpenedTensors {
  /** Keys as stored (a Lightning checkpoint's carry the `net.` prefix). */
  headers: Map<string, TensorHeader>;
  load(): StateDict;
}
