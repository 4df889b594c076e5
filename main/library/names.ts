import { InputError } from '../common/errors.js';

export function normaliseLabels(labels: number[]): number[] {
  for (const l of labels) if (!Number.isInteger(l)) throw new InputError(undefined, `label values must be integers (got ${l})`, 'usage');
  return [...new Set(labels)].sort((a, b) => a - b);
}

/** Names are shown in menus and typed on the command line: non-empty, one line, no control characters. */
export function checkName(name: string, what: string): string {
  if (typeof name !== 'string' || !name.trim() || name.length > 200 || /[\u0000-\u001f\u007f]/.test(name) || name !== name.trim()) {
    throw new InputError(undefined, `${what} name ${JSON.stringify(name)} is not valid (1-200 printable characters, no leading/trailing spaces)`, 'usage');
  }
  return name;
}
