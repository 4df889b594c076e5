import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Runs the installed CLI entry point (bin/neuroverse.js over dist/), as `npx neuroverse` would. */
export function neuroverse(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [resolve(ROOT, 'bin/neuroverse.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
