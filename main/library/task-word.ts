import type { Task } from '../common/task.js';

/**
 * How the library spells a task where it is stored or typed: the tasks table's CHECK constraint
 * (migration 1), bundle manifests, and the CLI's `--kind` and listings all say 'segmentation' or
 * 'generation'. Existing libraries and bundles must read as before and scripts keep working, so those
 * words stay at those edges and everything inside works with Task, converting here.
 */
export type TaskWord = 'segmentation' | 'generation';

export function taskWord(task: Task): TaskWord {
  return task === 'segment' ? 'segmentation' : 'generation';
}

/** The task a stored or typed word names; undefined for anything else. */
export function taskOfWord(word: unknown): Task | undefined {
  return word === 'segmentation' ? 'segment' : word === 'generation' ? 'generate' : undefined;
}
