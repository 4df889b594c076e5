import { spawnSync } from 'node:child_process';

/** Debian's python3 (not the one first on PATH) with a module available, or null. */
export function debianPythonWith(module: string): string | null {
  const py = '/usr/bin/python3';
  const r = spawnSync(py, ['-c', `import ${module}`], { encoding: 'utf8' });
  return r.status === 0 ? py : null;
}

export function runPython(py: string, code: string, args: string[] = []): string {
  const r = spawnSync(py, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}
