import { InputError } from '../common/errors.js';
import { nextPosition, pairFromRow } from './context-sets.js';
import { now, type LibraryStore, type Row } from './store.js';
import type { TrashedPair } from './types.js';
import { deleteUnreferencedVolumeRows, unlinkIfUnreferenced } from './volume-rows.js';

/** The pairs removed from their sets and not yet deleted, oldest removal first. */
export function listTrash(store: LibraryStore): TrashedPair[] {
  const rows = store.db
    .prepare(
      `SELECT p.*, s.name AS set_name FROM pairs p JOIN context_sets s ON s.id = p.set_id
       WHERE p.deleted_at IS NOT NULL ORDER BY p.deleted_at, p.id`,
    )
    .all() as Row[];
  return rows.map((r) => ({
    ...pairFromRow(store, r, 0),
    setName: r.set_name as string,
    deletedAt: r.deleted_at as string,
    deletedBy: (r.deleted_by as string) ?? null,
  }));
}

/** Moves a pair to the trash; its files stay until emptyTrash. */
export function removePair(store: LibraryStore, pairId: number): void {
  store.transaction(() => {
    const p = store.db
      .prepare('SELECT p.set_id, s.name FROM pairs p JOIN context_sets s ON s.id = p.set_id WHERE p.id = ? AND p.deleted_at IS NULL')
      .get(pairId) as { set_id: number; name: string } | undefined;
    if (!p) throw new InputError(undefined, `pair ${pairId} not found (or already in the trash)`, 'not-found');
    const t = now();
    store.db.prepare('UPDATE pairs SET deleted_at = ?, deleted_by = ? WHERE id = ?').run(t, store.user, pairId);
    store.db.prepare('UPDATE context_sets SET updated_at = ? WHERE id = ?').run(t, p.set_id);
    store.audit('remove-pair', { set: p.name, pair: pairId });
  });
}

/** Takes a pair out of the trash, at the end of its set. */
export function restorePair(store: LibraryStore, pairId: number): void {
  store.transaction(() => {
    const p = store.db.prepare('SELECT * FROM pairs WHERE id = ? AND deleted_at IS NOT NULL').get(pairId) as Row | undefined;
    if (!p) throw new InputError(undefined, `pair ${pairId} is not in the trash`, 'not-found');
    const dup = store.db
      .prepare('SELECT id FROM pairs WHERE set_id = ? AND image_sha256 = ? AND label_sha256 = ? AND deleted_at IS NULL')
      .get(p.set_id, p.image_sha256, p.label_sha256);
    if (dup) throw new InputError(undefined, `pair ${pairId}: the same image/label pair is already back in its set`, 'duplicate');
    const pos = nextPosition(store, p.set_id as number);
    store.db.prepare('UPDATE pairs SET deleted_at = NULL, deleted_by = NULL, position = ? WHERE id = ?').run(pos, pairId);
    store.db.prepare('UPDATE context_sets SET updated_at = ? WHERE id = ?').run(now(), p.set_id);
    store.audit('restore-pair', { pair: pairId });
  });
}

/** Deletes the trashed pairs for good, then every volume nothing references any more (rows, then files). */
export async function emptyTrash(store: LibraryStore): Promise<{ pairs: number; volumes: number; bytes: number }> {
  const result = store.transaction(() => {
    const pairs = store.db.prepare('DELETE FROM pairs WHERE deleted_at IS NOT NULL').run().changes;
    const gone = deleteUnreferencedVolumeRows(store);
    store.audit('empty-trash', { pairs, volumes: gone.map((g) => g.sha256) });
    return { pairs, gone };
  });
  // After the commit: a crash here leaves only orphan files, never rows without files.
  unlinkIfUnreferenced(store, result.gone);
  return { pairs: result.pairs, volumes: result.gone.length, bytes: result.gone.reduce((a, g) => a + g.bytes, 0) };
}
