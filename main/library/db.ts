import Database from 'better-sqlite3';
import { InputError } from '../common/errors.js';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the library database and brings its schema up to date.
 *
 * - WAL: readers (the app's panel) never block the writer (a CLI import), and a killed process
 *   leaves either the whole last transaction or none of it.
 * - synchronous=FULL: a committed removal is on disk before its volume files are unlinked, so even a
 *   power cut cannot leave rows pointing at deleted files (the cost is one fsync per commit).
 * - foreign_keys: pairs cannot reference volumes that do not exist.
 */
export function openDatabase(file: string, migrations: Migration[] = MIGRATIONS): Db {
  let db: Db;
  try {
    db = new Database(file);
  } catch (err) {
    throw new InputError(file, `cannot open the library database: ${(err as Error).message}`);
  }
  try {
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, file, migrations);
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_NOTADB') {
      throw new InputError(file, 'is not a library database (not an SQLite file)');
    }
    throw err;
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies the missing migrations in order, each with its version bump in one transaction. */
export function migrate(db: Db, file: string, migrations: Migration[] = MIGRATIONS): number[] {
  const latest = migrations.length ? migrations[migrations.length - 1].version : 0;
  const applied: number[] = [];
  for (;;) {
    const current = schemaVersion(db);
    if (current > latest) {
      throw new InputError(file, `library schema version ${current} is newer than this app understands (${latest}); update the app`, 'library-too-new');
    }
    const next = migrations.find((m) => m.version === current + 1);
    if (!next) break;
    // IMMEDIATE takes the write lock before re-reading the version, so two processes opening an old
    // library at once cannot both apply the same migration.
    db.transaction(() => {
      if (schemaVersion(db) !== current) return;
      next.up(db);
      db.pragma(`user_version = ${next.version}`);
      applied.push(next.version);
    }).immediate();
  }
  return applied;
}

export { LATEST_VERSION };
