import { rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { LibraryStore } from './store.js';
import type { LibraryProblem } from './types.js';
import { sha256File } from './volumes.js';

/**
 * Checks the database (integrity_check, foreign keys) and that every referenced volume file exists
 * with the right size and (with `hashes`) the right sha256. Orphan files are reported, not errors.
 */
export async function verifyLibrary(store: LibraryStore, options: { hashes?: boolean } = {}): Promise<LibraryProblem[]> {
  const problems: LibraryProblem[] = [];
  const integrity = store.db.pragma('integrity_check', { simple: true });
  if (integrity !== 'ok') problems.push({ kind: 'integrity', detail: `integrity_check: ${String(integrity)}` });
  const fk = store.db.pragma('foreign_key_check') as unknown[];
  if (fk.length) problems.push({ kind: 'integrity', detail: `foreign_key_check: ${JSON.stringify(fk)}` });
  const rows = store.db.prepare('SELECT sha256, rel_path, bytes FROM volumes').all() as Array<{ sha256: string; rel_path: string; bytes: number }>;
  const known = new Set<string>();
  for (const r of rows) {
    known.add(r.rel_path);
    const path = store.files.abs(r.rel_path);
    const st = await stat(path).catch(() => null);
    if (!st) {
      problems.push({ kind: 'missing-file', detail: `${path} (volume ${r.sha256}) is missing` });
    } else if (st.size !== r.bytes || (options.hashes !== false && (await sha256File(path)) !== r.sha256)) {
      problems.push({ kind: 'hash-mismatch', detail: `${path} does not match its sha256 ${r.sha256}` });
    }
  }
  for (const f of await store.files.listFiles()) {
    if (!known.has(f.relPath)) problems.push({ kind: 'orphan-file', detail: store.files.abs(f.relPath) });
  }
  return problems;
}

/**
 * Removes what a crashed add or import left behind: staging folders of dead processes, and volume
 * files no row references (only those older than `minAgeMs`, see the Library's OpenOptions).
 */
export async function sweepOrphans(store: LibraryStore, minAgeMs: number): Promise<{ staging: number; files: number }> {
  const staging = await store.files.sweepStaging();
  const cutoff = Date.now() - minAgeMs;
  // Our own names (hash.nii[.gz]) and writeFileAtomic's temporaries only; anything else is not ours to delete.
  const candidates = (await store.files.listFiles()).filter((f) => f.changedMs <= cutoff && (f.sha !== null || /\/\.[^/]+\.partial$/.test(f.relPath)));
  const files = store.transaction(() => {
    const known = store.db.prepare('SELECT 1 FROM volumes WHERE rel_path = ?');
    let n = 0;
    for (const f of candidates) {
      if (known.get(f.relPath)) continue;
      rmSync(store.files.abs(f.relPath), { force: true });
      n++;
    }
    return n;
  });
  return { staging, files };
}
