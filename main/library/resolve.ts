import { InputError } from '../common/errors.js';
import type { Task } from '../common/task.js';
import type { Library } from './library.js';
import type { ContextSetInfo } from './types.js';

export interface ResolvedContextSet {
  set: ContextSetInfo;
  task: Task;
  /** Label values whose union is the foreground (segment); empty = any non-zero label. */
  labels: number[];
  /** Stored files in the set's order, shaped like the run command's --context pairs. */
  pairs: StoredPairFiles[];
}

export interface StoredPairFiles {
  imageFile: string;
  labelFile: string;
  pairId: number;
  /** The set it is stored in (pairs of several sets of one task can be pooled). */
  setName: string;
  imageSha256: string;
  labelSha256: string;
}

/**
 * Turns a stored context set into what `neuroverse run` needs (for `run --context-set NAME`).
 * `labels` overrides the task's label values; each must occur in at least one of the set's label maps.
 */
export function resolveContextSet(library: Library, name: string, labels?: number[]): ResolvedContextSet {
  const set = library.requireSet(name);
  if (set.pairs.length === 0) throw new InputError(undefined, `context set "${name}" has no pairs (add some with neuroverse library add-pair)`, 'empty-set');
  const task = set.task.kind;
  let chosen = set.task.labels;
  if (labels && labels.length) {
    if (task !== 'segment') throw new InputError(undefined, `--label does not apply: set "${name}" is for the generation task "${set.task.name}"`, 'usage');
    const present = new Set<number>();
    let known = true;
    for (const p of set.pairs) {
      if (!p.label.values) known = false;
      else p.label.values.forEach((v) => present.add(v));
    }
    const missing = labels.filter((l) => !present.has(l));
    if (known && missing.length) throw new InputError(undefined, `label value(s) ${missing.join(', ')} occur in none of set "${name}"'s label maps`, 'usage');
    chosen = [...new Set(labels)].sort((a, b) => a - b);
  }
  return {
    set,
    task,
    labels: chosen,
    pairs: set.pairs.map((p) => ({
      imageFile: p.image.path,
      labelFile: p.label.path,
      pairId: p.id,
      setName: set.name,
      imageSha256: p.image.sha256,
      labelSha256: p.label.sha256,
    })),
  };
}
