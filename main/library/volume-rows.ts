import { existsSync, rmSync } from 'node:fs';
import { InputError } from '../common/errors.js';
import { now, type LibraryStore, type Row } from './store.js';
import type { StoredVolume } from './types.js';
import type { VolumeMeta } from './volumes.js';

/** A volume file disappeared between writing it and committing (a concurrent trash empty or sweep). */
export class FileVanished extends InputError {
  constructor(path: string) {
    super(path, 'was removed by another process while this change was being saved; try again', 'retry');
  }
}

/** The stored file of a volume; a volume the library does not hold is the caller's error. */
export function volumePath(store: LibraryStore, sha: string): string {
  const row = store.db.prepare('SELECT rel_path FROM volumes WHERE sha256 = ?').get(sha) as { rel_path: string } | undefined;
  if (!row) throw new InputError(undefined, `volume ${sha} is not in the library`, 'not-found');
  return store.files.abs(row.rel_path);
}

export function storedVolume(store: LibraryStore, sha: string): StoredVolume {
  const v = store.db.prepare('SELECT * FROM volumes WHERE sha256 = ?').get(sha) as Row;
  return {
    sha256: sha,
    path: store.files.abs(v.rel_path as string),
    bytes: v.bytes as number,
    dims: JSON.parse(v.dims_json as string),
    spacing: JSON.parse(v.spacing_json as string),
    datatype: v.datatype as string,
    values: v.values_json ? JSON.parse(v.values_json as string) : null,
  };
}

export function insertVolume(store: LibraryStore, meta: VolumeMeta, values: number[] | null): void {
  store.db
    .prepare(
      `INSERT INTO volumes (sha256, rel_path, bytes, dims_json, spacing_json, affine_json, datatype, values_json, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(sha256) DO UPDATE SET values_json = coalesce(volumes.values_json, excluded.values_json)`,
    )
    .run(
      meta.sha256,
      meta.relPath,
      meta.bytes,
      JSON.stringify(meta.dims),
      JSON.stringify(meta.spacing),
      JSON.stringify(meta.affine),
      meta.datatype,
      values ? JSON.stringify(values) : null,
      now(),
    );
}

export function volumeMeta(store: LibraryStore, sha: string): VolumeMeta | undefined {
  const v = store.db.prepare('SELECT * FROM volumes WHERE sha256 = ?').get(sha) as Row | undefined;
  if (!v) return undefined;
  return {
    sha256: sha,
    relPath: v.rel_path as string,
    bytes: v.bytes as number,
    dims: JSON.parse(v.dims_json as string),
    spacing: JSON.parse(v.spacing_json as string),
    affine: JSON.parse(v.affine_json as string),
    datatype: v.datatype as string,
  };
}

/** Distinct label values recorded for a volume, or null when unknown. */
export function volumeValues(store: LibraryStore, sha: string): number[] | null {
  const v = store.db.prepare('SELECT values_json FROM volumes WHERE sha256 = ?').get(sha) as { values_json: string | null } | undefined;
  return v?.values_json ? JSON.parse(v.values_json) : null;
}

/** Inside a write transaction: drops the rows of volumes no pair or run references, and says which they were. */
export function deleteUnreferencedVolumeRows(store: LibraryStore): Array<{ sha256: string; relPath: string; bytes: number }> {
  const rows = store.db
    .prepare(
      `SELECT sha256, rel_path, bytes FROM volumes v WHERE
         NOT EXISTS (SELECT 1 FROM pairs p WHERE p.image_sha256 = v.sha256 OR p.label_sha256 = v.sha256)
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.result_sha256 = v.sha256)`,
    )
    .all() as Array<{ sha256: string; rel_path: string; bytes: number }>;
  const del = store.db.prepare('DELETE FROM volumes WHERE sha256 = ?');
  for (const r of rows) del.run(r.sha256);
  return rows.map((r) => ({ sha256: r.sha256, relPath: r.rel_path, bytes: r.bytes }));
}

/**
 * Deletes the files of volumes no row references. Done under the write lock, and every commit that
 * references a file first checks (under the same lock) that it exists, so a file is never deleted
 * between another process's check and its commit.
 */
export function unlinkIfUnreferenced(store: LibraryStore, metas: Array<{ sha256: string; relPath: string }>): void {
  store.transaction(() => {
    const row = store.db.prepare('SELECT 1 FROM volumes WHERE sha256 = ?');
    for (const m of metas) if (!row.get(m.sha256)) rmSync(store.files.abs(m.relPath), { force: true });
  });
}

/** Inside a write transaction: every file about to be referenced must still be there. */
export function assertFilesPresent(store: LibraryStore, metas: Array<{ sha256: string; relPath: string }>): void {
  for (const m of metas) if (!existsSync(store.files.abs(m.relPath))) throw new FileVanished(store.files.abs(m.relPath));
}
