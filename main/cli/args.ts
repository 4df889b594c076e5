import { InputError } from '../common/errors.js';

/**
 * Small flag parser shared by all commands. Hand-written because node:util.parseArgs cannot express
 * repeated "--context a,b" pairs with per-command validation messages we want on one line.
 */
export interface ParsedArgs {
  positional: string[];
  /** Every flag's values in order ("--label 17 --label 53" → ["17", "53"]); booleans get "true". */
  flags: Map<string, string[]>;
}

export function parseArgs(argv: string[], spec: { boolean?: string[]; value?: string[] }): ParsedArgs {
  const booleans = new Set(spec.boolean ?? []);
  const values = new Set(spec.value ?? []);
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  const push = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (booleans.has(name)) {
      push(name, eq > 0 ? a.slice(eq + 1) : 'true');
    } else if (values.has(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new InputError(undefined, `option --${name} needs a value`, 'usage');
      push(name, v);
    } else {
      throw new InputError(undefined, `unknown option --${name}`, 'usage');
    }
  }
  return { positional, flags };
}

export function flag(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return v ? v[v.length - 1] : undefined;
}

export function flagAll(p: ParsedArgs, name: string): string[] {
  return p.flags.get(name) ?? [];
}

export function hasFlag(p: ParsedArgs, name: string): boolean {
  const v = flag(p, name);
  return v !== undefined && v !== 'false';
}
