import type { Db } from './db.js';
import type { VolumeFiles } from './volumes.js';

/**
 * What the library's parts (context sets, trash, run log, verification) need of an open library: its
 * folder, database and volume files, the user the audit log names, and the write transaction. `Library`
 * is the one implementation; the parts take this rather than the class so none of them imports it.
 */
export interface LibraryStore {
  readonly dir: string;
  readonly db: Db;
  readonly files: VolumeFiles;
  readonly user: string;
  /** Runs `fn` in one write transaction (taken up front so concurrent writers queue instead of failing). */
  transaction<T>(fn: () => T): T;
  audit(action: string, detail?: Record<string, unknown>): void;
}

/** A database row as better-sqlite3 returns it. */
export type Row = Record<string, unknown>;

export const now = () => new Date().toISOString();
