import { InputError } from '../common/errors.js';
import { checkName, normaliseLabels } from './names.js';
import { now, type LibraryStore, type Row } from './store.js';
import { taskOfWord, taskWord } from './task-word.js';
import type { ContextSetInfo, PairInfo, ScannerInfo, ScannerSpec, TaskInfo, TaskSpec } from './types.js';
import { storedVolume } from './volume-rows.js';

// ---------------------------------------------------------------- reads

export function listTasks(store: LibraryStore): TaskInfo[] {
  return (store.db.prepare('SELECT * FROM tasks ORDER BY name').all() as Row[]).map(taskFromRow);
}

export function listScanners(store: LibraryStore): ScannerInfo[] {
  return (store.db.prepare('SELECT * FROM scanners ORDER BY name').all() as Row[]).map(scannerFromRow);
}

export function listSets(store: LibraryStore): ContextSetInfo[] {
  const sets = store.db.prepare('SELECT id FROM context_sets ORDER BY name').all() as Array<{ id: number }>;
  return sets.map((s) => setById(store, s.id));
}

export function getSet(store: LibraryStore, name: string): ContextSetInfo | undefined {
  const row = store.db.prepare('SELECT id FROM context_sets WHERE name = ?').get(name) as { id: number } | undefined;
  return row ? setById(store, row.id) : undefined;
}

/** Like getSet, but a missing set is the user's error, listing the sets there are. */
export function requireSet(store: LibraryStore, name: string): ContextSetInfo {
  const set = getSet(store, name);
  if (set) return set;
  const known = listSets(store).map((s) => s.name);
  throw new InputError(
    undefined,
    `context set "${name}" not found in ${store.dir} (${known.length ? `sets: ${known.join(', ')}` : 'the library is empty'})`,
    'not-found',
  );
}

export function setIdOf(store: LibraryStore, name: string): number {
  const row = store.db.prepare('SELECT id FROM context_sets WHERE name = ?').get(name) as { id: number } | undefined;
  if (!row) requireSet(store, name);
  return row!.id;
}

export function setById(store: LibraryStore, id: number): ContextSetInfo {
  const s = store.db
    .prepare(
      `SELECT s.*, t.id AS t_id, t.name AS t_name, t.kind AS t_kind, t.structure AS t_structure, t.labels_json AS t_labels_json, t.lesion AS t_lesion,
              c.id AS c_id, c.name AS c_name, c.manufacturer AS c_manufacturer, c.model AS c_model, c.field_strength AS c_field_strength,
              c.sequence AS c_sequence, c.institution AS c_institution, c.description AS c_description
       FROM context_sets s JOIN tasks t ON t.id = s.task_id JOIN scanners c ON c.id = s.scanner_id WHERE s.id = ?`,
    )
    .get(id) as Row;
  const pairs = store.db.prepare('SELECT * FROM pairs WHERE set_id = ? AND deleted_at IS NULL ORDER BY position, id').all(id) as Row[];
  return {
    id,
    name: s.name as string,
    description: (s.description as string) ?? null,
    task: taskFromRow(prefixed(s, 't_')),
    scanner: scannerFromRow(prefixed(s, 'c_')),
    createdAt: s.created_at as string,
    updatedAt: s.updated_at as string,
    pairs: pairs.map((p, i) => pairFromRow(store, p, i + 1)),
  };
}

export function pairFromRow(store: LibraryStore, p: Row, position: number): PairInfo {
  return {
    id: p.id as number,
    position,
    image: storedVolume(store, p.image_sha256 as string),
    label: storedVolume(store, p.label_sha256 as string),
    imageSource: (p.image_source as string) ?? null,
    labelSource: (p.label_source as string) ?? null,
    addedBy: p.added_by as string,
    addedAt: p.added_at as string,
  };
}

// The tasks table keeps the library's word (task-word.ts); its CHECK constraint admits no other.
export function taskFromRow(r: Row): TaskInfo {
  return {
    id: r.id as number,
    name: r.name as string,
    kind: taskOfWord(r.kind)!,
    structure: (r.structure as string) ?? null,
    labels: JSON.parse((r.labels_json as string) ?? '[]'),
    lesion: r.lesion === 1,
  };
}

function scannerFromRow(r: Row): ScannerInfo {
  return {
    id: r.id as number,
    name: r.name as string,
    manufacturer: (r.manufacturer as string) ?? null,
    model: (r.model as string) ?? null,
    fieldStrength: (r.field_strength as number) ?? null,
    sequence: (r.sequence as string) ?? null,
    institution: (r.institution as string) ?? null,
    description: (r.description as string) ?? null,
  };
}

function prefixed(row: Row, prefix: string): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

// ---------------------------------------------------------------- writes (inside the caller's transaction unless said)

/** Finds or creates the task; an existing one must agree with the spec's kind and labels. */
export function ensureTask(store: LibraryStore, spec: TaskSpec): number {
  // Specs arrive over the API too: a lesion flag that is not a boolean would read as anatomy.
  if (spec.lesion !== undefined && typeof spec.lesion !== 'boolean') throw new InputError(undefined, `task "${spec.name}": lesion must be true or false`);
  const row = store.db.prepare('SELECT * FROM tasks WHERE name = ?').get(spec.name) as Row | undefined;
  if (row) {
    const t = taskFromRow(row);
    if (spec.kind && spec.kind !== t.kind)
      throw new InputError(undefined, `task "${spec.name}" is a ${taskWord(t.kind)} task, not ${taskWord(spec.kind)}`, 'conflict');
    if (spec.labels && spec.labels.length && normaliseLabels(spec.labels).join(',') !== t.labels.join(',')) {
      throw new InputError(
        undefined,
        `task "${spec.name}" has label values [${t.labels.join(', ')}], not [${normaliseLabels(spec.labels).join(', ')}]`,
        'conflict',
      );
    }
    checkLesionAgrees(t, spec);
    return t.id;
  }
  const kind = spec.kind ?? 'segment';
  if (kind !== 'segment' && kind !== 'generate') throw new InputError(undefined, `task kind must be segment or generate (got "${kind}")`);
  const labels = normaliseLabels(spec.labels ?? []);
  if (kind === 'generate' && labels.length) throw new InputError(undefined, `generation task "${spec.name}" cannot have label values`);
  if (kind === 'generate' && spec.lesion) throw new InputError(undefined, `generation task "${spec.name}" cannot mark a lesion: lesions are segmented`);
  const lesion = spec.lesion === true;
  const id = Number(
    store.db
      .prepare('INSERT INTO tasks (name, kind, structure, labels_json, lesion, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(spec.name, taskWord(kind), spec.structure ?? null, JSON.stringify(labels), lesion ? 1 : 0, now()).lastInsertRowid,
  );
  store.audit('create-task', { task: spec.name, kind: taskWord(kind), labels, ...(lesion ? { lesion } : {}) });
  return id;
}

/** An existing task's label marks a lesion or anatomy once and for all: a spec that says otherwise is refused. */
export function checkLesionAgrees(t: TaskInfo, spec: TaskSpec): void {
  if (spec.lesion !== undefined && spec.lesion !== t.lesion)
    throw new InputError(
      undefined,
      `task "${spec.name}" marks ${markWords(t.lesion)}, not ${markWords(spec.lesion)}: give the other kind of label a task of its own`,
      'conflict',
    );
}

/** What a task's label marks, in messages. */
export function markWords(lesion: boolean): string {
  return lesion ? 'a lesion (varies in place, number and size)' : 'anatomy (the same structure in every head)';
}

export function ensureScanner(store: LibraryStore, spec: ScannerSpec): number {
  const row = store.db.prepare('SELECT id FROM scanners WHERE name = ?').get(spec.name) as { id: number } | undefined;
  if (row) return row.id;
  const id = Number(
    store.db
      .prepare(
        'INSERT INTO scanners (name, manufacturer, model, field_strength, sequence, institution, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        spec.name,
        spec.manufacturer ?? null,
        spec.model ?? null,
        spec.fieldStrength ?? null,
        spec.sequence ?? null,
        spec.institution ?? null,
        spec.description ?? null,
        now(),
      ).lastInsertRowid,
  );
  store.audit('create-scanner', { scanner: spec.name });
  return id;
}

/** Finds or creates the set; an existing set must belong to the same task and scanner. */
export function ensureSet(
  store: LibraryStore,
  name: string,
  taskId: number,
  scannerId: number,
  taskName: string,
  scannerName: string,
  description?: string | null,
): number {
  const row = store.db
    .prepare(
      'SELECT s.id, s.task_id, s.scanner_id, t.name AS task, c.name AS scanner FROM context_sets s JOIN tasks t ON t.id = s.task_id JOIN scanners c ON c.id = s.scanner_id WHERE s.name = ?',
    )
    .get(name) as { id: number; task_id: number; scanner_id: number; task: string; scanner: string } | undefined;
  if (row) {
    if (row.task_id !== taskId || row.scanner_id !== scannerId) {
      throw new InputError(
        undefined,
        `context set "${name}" belongs to task "${row.task}" and scanner "${row.scanner}", not "${taskName}" / "${scannerName}"`,
        'conflict',
      );
    }
    return row.id;
  }
  const t = now();
  const id = Number(
    store.db
      .prepare('INSERT INTO context_sets (name, task_id, scanner_id, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(name, taskId, scannerId, description ?? null, t, t).lastInsertRowid,
  );
  store.audit('create-set', { set: name, task: taskName, scanner: scannerName });
  return id;
}

/** Appends a pair at the end of its set. */
export function insertPair(
  store: LibraryStore,
  setId: number,
  imageSha: string,
  labelSha: string,
  imageSource: string | null,
  labelSource: string | null,
  addedBy: string,
  addedAt: string,
): number {
  const pos = nextPosition(store, setId);
  const id = Number(
    store.db
      .prepare(
        'INSERT INTO pairs (set_id, position, image_sha256, label_sha256, image_source, label_source, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(setId, pos, imageSha, labelSha, imageSource, labelSource, addedBy, addedAt).lastInsertRowid,
  );
  store.db.prepare('UPDATE context_sets SET updated_at = ? WHERE id = ?').run(now(), setId);
  return id;
}

export function nextPosition(store: LibraryStore, setId: number): number {
  const r = store.db.prepare('SELECT coalesce(max(position), 0) + 1 AS p FROM pairs WHERE set_id = ?').get(setId) as { p: number };
  return r.p;
}

/** New order of a set's pairs (its own transaction): `pairIds` must list each of its current pairs exactly once. */
export function reorderPairs(store: LibraryStore, setName: string, pairIds: number[]): ContextSetInfo {
  store.transaction(() => {
    const setId = setIdOf(store, setName);
    const current = (store.db.prepare('SELECT id FROM pairs WHERE set_id = ? AND deleted_at IS NULL').all(setId) as Array<{ id: number }>).map((r) => r.id);
    const same = pairIds.length === current.length && new Set(pairIds).size === pairIds.length && pairIds.every((id) => current.includes(id));
    if (!same)
      throw new InputError(undefined, `new order for set "${setName}" must list each of its pairs once (${[...current].sort((a, b) => a - b).join(', ')})`);
    const upd = store.db.prepare('UPDATE pairs SET position = ? WHERE id = ?');
    pairIds.forEach((id, i) => upd.run(i + 1, id));
    store.db.prepare('UPDATE context_sets SET updated_at = ? WHERE id = ?').run(now(), setId);
    store.audit('reorder-pairs', { set: setName, order: pairIds });
  });
  return requireSet(store, setName);
}

/** Renames a set (its own transaction). */
export function renameSet(store: LibraryStore, from: string, to: string): ContextSetInfo {
  checkName(to, 'context set');
  store.transaction(() => {
    const setId = setIdOf(store, from);
    if (from !== to && store.db.prepare('SELECT 1 FROM context_sets WHERE name = ?').get(to))
      throw new InputError(undefined, `a context set named "${to}" already exists`, 'duplicate');
    store.db.prepare('UPDATE context_sets SET name = ?, updated_at = ? WHERE id = ?').run(to, now(), setId);
    store.audit('rename-set', { from, to });
  });
  return requireSet(store, to);
}
