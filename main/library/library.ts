import { existsSync, rmSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../common/errors.js';
import { encodeNifti, openImagePath, type NiftiEncodeOptions, type Volume } from '../imaging/index.js';
import { openDatabase, type Db } from './db.js';
import { gzipAsync } from '../util/gzip.js';
import { gridMismatch, isSingleFrame } from '../imaging/grid.js';
import type { AuditEntry, ContextSetInfo, LibraryProblem, PairInfo, ScannerInfo, ScannerSpec, TaskInfo, TaskSpec, TrashedPair, StoredVolume } from './types.js';
import type { Task } from '../common/task.js';
import { taskOfWord, taskWord } from './task-word.js';
import { describeNifti, distinctValues, sha256File, VolumeFiles, type VolumeMeta } from './volumes.js';

export const DB_FILE = 'library.db';

export interface OpenOptions {
  /** Name written to the audit log; default: the local account name. */
  user?: string;
  /**
   * Orphan volume files (written by an add or import that died before its commit) older than this
   * are removed on open. The age guard protects another process that is between writing its files
   * and committing them. Default 10 minutes; tests pass 0. Set `sweep: false` to skip.
   */
  sweepMinAgeMs?: number;
  sweep?: boolean;
}

/**
 * A volume to add: a NIfTI file or DICOM folder on disk, or a volume in memory (open in the app, or a
 * run's result), stored as gzipped NIfTI with `intent` in its header.
 */
export type VolumeInput = { path: string } | { volume: Volume; name?: string; intent?: NiftiEncodeOptions['intent'] };

export interface AddPairInput {
  set: string;
  /** A task name (created as a segmentation task on first use) or a full spec. */
  task: string | TaskSpec;
  /** A scanner name (created on first use, filled from the image's DICOM header when it has one) or a full spec. */
  scanner: string | ScannerSpec;
  image: VolumeInput;
  label: VolumeInput;
}

export interface RunRecord {
  setName?: string;
  studyUid?: string;
  /** Model id, or the fusion method's name for runs without a model. */
  model: string;
  /** 'model' or 'vote' (atlas fusion); absent in runs recorded before methods existed. */
  method?: string;
  /** How the context pairs were aligned: none, affine or deformable. */
  alignment?: string;
  miniContext?: number;
  device?: string;
  targetSource?: string;
  labels?: number[];
  timings?: Record<string, number>;
  /** Result volume to keep in the library (content-addressed like the pairs): a file, or the run's volume in memory. */
  result?: VolumeInput;
  startedAt: string;
  finishedAt?: string;
  /** How the result was made (export/types SegProvenance), written into the audit log as its DICOM-SEG says it. */
  provenance?: Record<string, unknown>;
}

interface LoadedVolume {
  meta: VolumeMeta;
  bytes: Uint8Array;
  volume: Volume;
  /** Where it came from, for provenance (absolute path, or the open volume's name). */
  source: string;
  /** What error messages call it. */
  display: string;
}

const now = () => new Date().toISOString();

export function localUserName(): string {
  try {
    return userInfo().username || process.env.USER || 'unknown';
  } catch {
    // userInfo throws when the uid has no passwd entry (some containers).
    return process.env.USER || process.env.USERNAME || 'unknown';
  }
}

/**
 * The context library: a folder holding `library.db` (metadata) and `volumes/` (content-addressed
 * NIfTI files). Every multi-step change runs in one IMMEDIATE transaction; files are written before
 * the commit that references them and deleted only after the commit that drops them, so a crash at
 * any point leaves at worst unreferenced files, which the next open sweeps.
 */
export class Library {
  readonly files: VolumeFiles;
  readonly user: string;

  private constructor(
    readonly dir: string,
    readonly db: Db,
    user: string,
  ) {
    this.files = new VolumeFiles(dir);
    this.user = user;
  }

  static async open(dir: string, options: OpenOptions = {}): Promise<Library> {
    const root = resolve(dir);
    try {
      await mkdir(join(root, 'volumes'), { recursive: true });
    } catch (err) {
      throw new InputError(root, `cannot create the library folder: ${(err as Error).message}`);
    }
    const lib = new Library(root, openDatabase(join(root, DB_FILE)), options.user ?? localUserName());
    if (options.sweep !== false) await lib.sweepOrphans(options.sweepMinAgeMs ?? 10 * 60_000);
    return lib;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in one write transaction (taken up front so concurrent writers queue instead of failing). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  audit(action: string, detail: Record<string, unknown> = {}): void {
    this.db.prepare('INSERT INTO audit_log (at, user, action, detail_json) VALUES (?, ?, ?, ?)').run(now(), this.user, action, JSON.stringify(detail));
  }

  listAudit(limit = 100): AuditEntry[] {
    const rows = this.db.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?').all(limit) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      id: r.id as number,
      at: r.at as string,
      user: r.user as string,
      action: r.action as string,
      detail: JSON.parse(r.detail_json as string),
    }));
  }

  // ---------------------------------------------------------------- reads

  listTasks(): TaskInfo[] {
    return (this.db.prepare('SELECT * FROM tasks ORDER BY name').all() as Row[]).map(taskFromRow);
  }

  listScanners(): ScannerInfo[] {
    return (this.db.prepare('SELECT * FROM scanners ORDER BY name').all() as Row[]).map(scannerFromRow);
  }

  listSets(): ContextSetInfo[] {
    const sets = this.db.prepare('SELECT id FROM context_sets ORDER BY name').all() as Array<{ id: number }>;
    return sets.map((s) => this.setById(s.id));
  }

  getSet(name: string): ContextSetInfo | undefined {
    const row = this.db.prepare('SELECT id FROM context_sets WHERE name = ?').get(name) as { id: number } | undefined;
    return row ? this.setById(row.id) : undefined;
  }

  /** Like getSet, but a missing set is the user's error, listing the sets there are. */
  requireSet(name: string): ContextSetInfo {
    const set = this.getSet(name);
    if (set) return set;
    const known = this.listSets().map((s) => s.name);
    throw new InputError(
      undefined,
      `context set "${name}" not found in ${this.dir} (${known.length ? `sets: ${known.join(', ')}` : 'the library is empty'})`,
      'not-found',
    );
  }

  listTrash(): TrashedPair[] {
    const rows = this.db
      .prepare(
        `SELECT p.*, s.name AS set_name FROM pairs p JOIN context_sets s ON s.id = p.set_id
         WHERE p.deleted_at IS NOT NULL ORDER BY p.deleted_at, p.id`,
      )
      .all() as Row[];
    return rows.map((r) => ({
      ...this.pairFromRow(r, 0),
      setName: r.set_name as string,
      deletedAt: r.deleted_at as string,
      deletedBy: (r.deleted_by as string) ?? null,
    }));
  }

  volumePath(sha: string): string {
    const row = this.db.prepare('SELECT rel_path FROM volumes WHERE sha256 = ?').get(sha) as { rel_path: string } | undefined;
    if (!row) throw new InputError(undefined, `volume ${sha} is not in the library`, 'not-found');
    return this.files.abs(row.rel_path);
  }

  private setById(id: number): ContextSetInfo {
    const s = this.db
      .prepare(
        `SELECT s.*, t.id AS t_id, t.name AS t_name, t.kind AS t_kind, t.structure AS t_structure, t.labels_json AS t_labels_json,
                c.id AS c_id, c.name AS c_name, c.manufacturer AS c_manufacturer, c.model AS c_model, c.field_strength AS c_field_strength,
                c.sequence AS c_sequence, c.institution AS c_institution, c.description AS c_description
         FROM context_sets s JOIN tasks t ON t.id = s.task_id JOIN scanners c ON c.id = s.scanner_id WHERE s.id = ?`,
      )
      .get(id) as Row;
    const pairs = this.db.prepare('SELECT * FROM pairs WHERE set_id = ? AND deleted_at IS NULL ORDER BY position, id').all(id) as Row[];
    return {
      id,
      name: s.name as string,
      description: (s.description as string) ?? null,
      task: taskFromRow(prefixed(s, 't_')),
      scanner: scannerFromRow(prefixed(s, 'c_')),
      createdAt: s.created_at as string,
      updatedAt: s.updated_at as string,
      pairs: pairs.map((p, i) => this.pairFromRow(p, i + 1)),
    };
  }

  private storedVolume(sha: string): StoredVolume {
    const v = this.db.prepare('SELECT * FROM volumes WHERE sha256 = ?').get(sha) as Row;
    return {
      sha256: sha,
      path: this.files.abs(v.rel_path as string),
      bytes: v.bytes as number,
      dims: JSON.parse(v.dims_json as string),
      spacing: JSON.parse(v.spacing_json as string),
      datatype: v.datatype as string,
      values: v.values_json ? JSON.parse(v.values_json as string) : null,
    };
  }

  private pairFromRow(p: Row, position: number): PairInfo {
    return {
      id: p.id as number,
      position,
      image: this.storedVolume(p.image_sha256 as string),
      label: this.storedVolume(p.label_sha256 as string),
      imageSource: (p.image_source as string) ?? null,
      labelSource: (p.label_source as string) ?? null,
      addedBy: p.added_by as string,
      addedAt: p.added_at as string,
    };
  }

  // ---------------------------------------------------------------- writes

  /**
   * Adds one image/label pair to a set, creating the set, task and scanner on first use.
   * Refused (InputError naming the label file) when the label is not on the image's grid: such a pair
   * would silently teach the model a shifted structure, and resampling is a decision for the user.
   */
  async addPair(input: AddPairInput): Promise<PairInfo> {
    const setName = checkName(input.set, 'context set');
    const taskName = typeof input.task === 'string' ? input.task : input.task.name;
    const scannerName = typeof input.scanner === 'string' ? input.scanner : input.scanner.name;
    const existingSet = this.getSet(setName);
    // Checked again under the write lock; here it spares reading the volumes for a doomed add.
    if (existingSet && (existingSet.task.name !== taskName || existingSet.scanner.name !== scannerName)) {
      throw new InputError(
        undefined,
        `context set "${setName}" belongs to task "${existingSet.task.name}" and scanner "${existingSet.scanner.name}", not "${taskName}" / "${scannerName}"`,
        'conflict',
      );
    }
    const image = await loadVolume(input.image);
    const label = await loadVolume(input.label);
    for (const v of [image, label]) {
      if (!isSingleFrame(v.meta.dims))
        throw new InputError(v.display, `has ${v.meta.dims.length}-D dims ${v.meta.dims.join('×')}: a context pair needs single 3-D volumes`);
    }
    const mismatch = gridMismatch(image.meta, label.meta);
    if (mismatch) throw new InputError(label.display, `${mismatch} (${image.display}); resample the label onto the image first`, 'grid-mismatch');

    const taskSpec = typeof input.task === 'string' ? { name: input.task } : input.task;
    const existingTask = this.db.prepare('SELECT * FROM tasks WHERE name = ?').get(checkName(taskSpec.name, 'task')) as Row | undefined;
    const task = existingTask ? taskFromRow(existingTask) : null;
    const kind: Task = task?.kind ?? taskSpec.kind ?? 'segment';
    const taskLabels = task?.labels ?? normaliseLabels(taskSpec.labels ?? []);
    let values: number[] | null = null;
    if (kind === 'segment') {
      values = distinctValues(label.volume);
      if (values === null) throw new InputError(label.display, 'has more than 4096 distinct values: not a label map (use a generation task for image outputs)');
      const wanted = taskLabels.length ? taskLabels : values.filter((v) => v !== 0);
      if (!wanted.some((v) => values!.includes(v))) {
        throw new InputError(
          label.display,
          taskLabels.length ? `contains none of task "${taskSpec.name}"'s label values (${taskLabels.join(', ')})` : 'is empty (all voxels are 0)',
          'empty-label',
        );
      }
    }

    const scannerSpec = typeof input.scanner === 'string' ? { ...scannerFromDicom(image.volume), name: input.scanner } : input.scanner;
    checkName(scannerSpec.name, 'scanner');

    // Files first, then the commit that references them (see the class comment).
    const written: LoadedVolume[] = [];
    const volumes = image.meta.sha256 === label.meta.sha256 ? [image] : [image, label];
    for (let attempt = 1; ; attempt++) {
      for (const v of volumes) if (await this.files.put(v.meta, v.bytes)) written.push(v);
      try {
        const pairId = this.commitPair(setName, taskSpec, scannerSpec, image, label, values);
        const set = this.setById(this.setIdOf(setName));
        return set.pairs.find((p) => p.id === pairId)!;
      } catch (err) {
        // Another process deleted a shared file between our put and our commit: write it again.
        if (err instanceof FileVanished && attempt < 3) continue;
        this.unlinkIfUnreferenced(written.map((v) => v.meta));
        throw err;
      }
    }
  }

  private commitPair(setName: string, taskSpec: TaskSpec, scannerSpec: ScannerSpec, image: LoadedVolume, label: LoadedVolume, values: number[] | null): number {
    return this.transaction(() => {
      this.assertFilesPresent([image.meta, label.meta]);
      const taskId = this.ensureTask(taskSpec);
      const scannerId = this.ensureScanner(scannerSpec);
      const setId = this.ensureSet(setName, taskId, scannerId, taskSpec.name, scannerSpec.name);
      this.insertVolume(image.meta, null);
      this.insertVolume(label.meta, values);
      const dup = this.db
        .prepare('SELECT id FROM pairs WHERE set_id = ? AND image_sha256 = ? AND label_sha256 = ? AND deleted_at IS NULL')
        .get(setId, image.meta.sha256, label.meta.sha256) as { id: number } | undefined;
      if (dup) throw new InputError(label.display, `this image/label pair is already in set "${setName}" (pair ${dup.id})`, 'duplicate');
      const id = this.insertPair(setId, image.meta.sha256, label.meta.sha256, image.source, label.source, this.user, now());
      this.audit('add-pair', {
        set: setName,
        pair: id,
        image: image.meta.sha256,
        label: label.meta.sha256,
        imageSource: image.source,
        labelSource: label.source,
      });
      return id;
    });
  }

  /** Moves a pair to the trash; its files stay until emptyTrash. */
  removePair(pairId: number): void {
    this.transaction(() => {
      const p = this.db
        .prepare('SELECT p.set_id, s.name FROM pairs p JOIN context_sets s ON s.id = p.set_id WHERE p.id = ? AND p.deleted_at IS NULL')
        .get(pairId) as { set_id: number; name: string } | undefined;
      if (!p) throw new InputError(undefined, `pair ${pairId} not found (or already in the trash)`, 'not-found');
      const t = now();
      this.db.prepare('UPDATE pairs SET deleted_at = ?, deleted_by = ? WHERE id = ?').run(t, this.user, pairId);
      this.db.prepare('UPDATE context_sets SET updated_at = ? WHERE id = ?').run(t, p.set_id);
      this.audit('remove-pair', { set: p.name, pair: pairId });
    });
  }

  /** Takes a pair out of the trash, at the end of its set. */
  restorePair(pairId: number): void {
    this.transaction(() => {
      const p = this.db.prepare('SELECT * FROM pairs WHERE id = ? AND deleted_at IS NOT NULL').get(pairId) as Row | undefined;
      if (!p) throw new InputError(undefined, `pair ${pairId} is not in the trash`, 'not-found');
      const dup = this.db
        .prepare('SELECT id FROM pairs WHERE set_id = ? AND image_sha256 = ? AND label_sha256 = ? AND deleted_at IS NULL')
        .get(p.set_id, p.image_sha256, p.label_sha256);
      if (dup) throw new InputError(undefined, `pair ${pairId}: the same image/label pair is already back in its set`, 'duplicate');
      const pos = this.nextPosition(p.set_id as number);
      this.db.prepare('UPDATE pairs SET deleted_at = NULL, deleted_by = NULL, position = ? WHERE id = ?').run(pos, pairId);
      this.db.prepare('UPDATE context_sets SET updated_at = ? WHERE id = ?').run(now(), p.set_id);
      this.audit('restore-pair', { pair: pairId });
    });
  }

  /** Deletes the trashed pairs for good, then every volume nothing references any more (rows, then files). */
  async emptyTrash(): Promise<{ pairs: number; volumes: number; bytes: number }> {
    const result = this.transaction(() => {
      const pairs = this.db.prepare('DELETE FROM pairs WHERE deleted_at IS NOT NULL').run().changes;
      const gone = this.deleteUnreferencedVolumeRows();
      this.audit('empty-trash', { pairs, volumes: gone.map((g) => g.sha256) });
      return { pairs, gone };
    });
    // After the commit: a crash here leaves only orphan files, never rows without files.
    this.unlinkIfUnreferenced(result.gone);
    return { pairs: result.pairs, volumes: result.gone.length, bytes: result.gone.reduce((a, g) => a + g.bytes, 0) };
  }

  /** New order of a set's pairs: `pairIds` must list each of its current pairs exactly once. */
  reorderPairs(setName: string, pairIds: number[]): ContextSetInfo {
    this.transaction(() => {
      const setId = this.setIdOf(setName);
      const current = (this.db.prepare('SELECT id FROM pairs WHERE set_id = ? AND deleted_at IS NULL').all(setId) as Array<{ id: number }>).map((r) => r.id);
      const same = pairIds.length === current.length && new Set(pairIds).size === pairIds.length && pairIds.every((id) => current.includes(id));
      if (!same)
        throw new InputError(undefined, `new order for set "${setName}" must list each of its pairs once (${[...current].sort((a, b) => a - b).join(', ')})`);
      const upd = this.db.prepare('UPDATE pairs SET position = ? WHERE id = ?');
      pairIds.forEach((id, i) => upd.run(i + 1, id));
      this.db.prepare('UPDATE context_sets SET updated_at = ? WHERE id = ?').run(now(), setId);
      this.audit('reorder-pairs', { set: setName, order: pairIds });
    });
    return this.requireSet(setName);
  }

  renameSet(from: string, to: string): ContextSetInfo {
    checkName(to, 'context set');
    this.transaction(() => {
      const setId = this.setIdOf(from);
      if (from !== to && this.db.prepare('SELECT 1 FROM context_sets WHERE name = ?').get(to))
        throw new InputError(undefined, `a context set named "${to}" already exists`, 'duplicate');
      this.db.prepare('UPDATE context_sets SET name = ?, updated_at = ? WHERE id = ?').run(to, now(), setId);
      this.audit('rename-set', { from, to });
    });
    return this.requireSet(to);
  }

  /** Records a model run (and keeps its result volume in the library). Returns the run id. */
  async recordRun(run: RunRecord): Promise<number> {
    let result: LoadedVolume | null = null;
    let written = false;
    if (run.result) {
      result = await loadVolume(run.result);
      written = await this.files.put(result.meta, result.bytes);
    }
    try {
      return this.transaction(() => {
        const setId = run.setName ? this.setIdOf(run.setName) : null;
        let studyId: number | null = null;
        if (run.studyUid) {
          this.db.prepare('INSERT OR IGNORE INTO studies (study_uid, created_at) VALUES (?, ?)').run(run.studyUid, now());
          studyId = (this.db.prepare('SELECT id FROM studies WHERE study_uid = ?').get(run.studyUid) as { id: number }).id;
        }
        if (result) {
          this.assertFilesPresent([result.meta]);
          this.insertVolume(result.meta, null);
        }
        const id = Number(
          this.db
            .prepare(
              `INSERT INTO runs (study_id, set_id, model, method, alignment, mini_context, device, target_source, labels_json, timings_json, result_sha256, started_at, finished_at, run_by)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(
              studyId,
              setId,
              run.model,
              run.method ?? null,
              run.alignment ?? null,
              run.miniContext ?? null,
              run.device ?? null,
              run.targetSource ?? null,
              JSON.stringify(run.labels ?? []),
              JSON.stringify(run.timings ?? {}),
              result?.meta.sha256 ?? null,
              run.startedAt,
              run.finishedAt ?? null,
              this.user,
            ).lastInsertRowid,
        );
        this.audit('record-run', {
          run: id,
          set: run.setName ?? null,
          model: run.model,
          method: run.method ?? null,
          alignment: run.alignment ?? null,
          ...(run.provenance ? { provenance: run.provenance } : {}),
        });
        return id;
      });
    } catch (err) {
      if (result && written) this.unlinkIfUnreferenced([result.meta]);
      throw err;
    }
  }

  listRuns(): Array<Record<string, unknown>> {
    return this.db.prepare('SELECT r.*, s.name AS set_name FROM runs r LEFT JOIN context_sets s ON s.id = r.set_id ORDER BY r.id').all() as Array<
      Record<string, unknown>
    >;
  }

  // ---------------------------------------------------------------- consistency

  /**
   * Checks the database (integrity_check, foreign keys) and that every referenced volume file exists
   * with the right size and (with `hashes`) the right sha256. Orphan files are reported, not errors.
   */
  async verify(options: { hashes?: boolean } = {}): Promise<LibraryProblem[]> {
    const problems: LibraryProblem[] = [];
    const integrity = this.db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') problems.push({ kind: 'integrity', detail: `integrity_check: ${String(integrity)}` });
    const fk = this.db.pragma('foreign_key_check') as unknown[];
    if (fk.length) problems.push({ kind: 'integrity', detail: `foreign_key_check: ${JSON.stringify(fk)}` });
    const rows = this.db.prepare('SELECT sha256, rel_path, bytes FROM volumes').all() as Array<{ sha256: string; rel_path: string; bytes: number }>;
    const known = new Set<string>();
    for (const r of rows) {
      known.add(r.rel_path);
      const path = this.files.abs(r.rel_path);
      const st = await stat(path).catch(() => null);
      if (!st) {
        problems.push({ kind: 'missing-file', detail: `${path} (volume ${r.sha256}) is missing` });
      } else if (st.size !== r.bytes || (options.hashes !== false && (await sha256File(path)) !== r.sha256)) {
        problems.push({ kind: 'hash-mismatch', detail: `${path} does not match its sha256 ${r.sha256}` });
      }
    }
    for (const f of await this.files.listFiles()) {
      if (!known.has(f.relPath)) problems.push({ kind: 'orphan-file', detail: this.files.abs(f.relPath) });
    }
    return problems;
  }

  /**
   * Removes what a crashed add or import left behind: staging folders of dead processes, and volume
   * files no row references (only those older than `minAgeMs`, see OpenOptions).
   */
  async sweepOrphans(minAgeMs: number): Promise<{ staging: number; files: number }> {
    const staging = await this.files.sweepStaging();
    const cutoff = Date.now() - minAgeMs;
    // Our own names (hash.nii[.gz]) and writeFileAtomic's temporaries only; anything else is not ours to delete.
    const candidates = (await this.files.listFiles()).filter((f) => f.changedMs <= cutoff && (f.sha !== null || /\/\.[^/]+\.partial$/.test(f.relPath)));
    const files = this.transaction(() => {
      const known = this.db.prepare('SELECT 1 FROM volumes WHERE rel_path = ?');
      let n = 0;
      for (const f of candidates) {
        if (known.get(f.relPath)) continue;
        rmSync(this.files.abs(f.relPath), { force: true });
        n++;
      }
      return n;
    });
    return { staging, files };
  }

  // ---------------------------------------------------------------- helpers shared with bundle import

  /** @internal */ setIdOf(name: string): number {
    const row = this.db.prepare('SELECT id FROM context_sets WHERE name = ?').get(name) as { id: number } | undefined;
    if (!row) this.requireSet(name);
    return row!.id;
  }

  /** @internal Finds or creates the task; an existing one must agree with the spec's kind and labels. */
  ensureTask(spec: TaskSpec): number {
    const row = this.db.prepare('SELECT * FROM tasks WHERE name = ?').get(spec.name) as Row | undefined;
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
      return t.id;
    }
    const kind = spec.kind ?? 'segment';
    if (kind !== 'segment' && kind !== 'generate') throw new InputError(undefined, `task kind must be segment or generate (got "${kind}")`);
    const labels = normaliseLabels(spec.labels ?? []);
    if (kind === 'generate' && labels.length) throw new InputError(undefined, `generation task "${spec.name}" cannot have label values`);
    const id = Number(
      this.db
        .prepare('INSERT INTO tasks (name, kind, structure, labels_json, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(spec.name, taskWord(kind), spec.structure ?? null, JSON.stringify(labels), now()).lastInsertRowid,
    );
    this.audit('create-task', { task: spec.name, kind: taskWord(kind), labels });
    return id;
  }

  /** @internal */ ensureScanner(spec: ScannerSpec): number {
    const row = this.db.prepare('SELECT id FROM scanners WHERE name = ?').get(spec.name) as { id: number } | undefined;
    if (row) return row.id;
    const id = Number(
      this.db
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
    this.audit('create-scanner', { scanner: spec.name });
    return id;
  }

  /** @internal An existing set must belong to the same task and scanner. */
  ensureSet(name: string, taskId: number, scannerId: number, taskName: string, scannerName: string, description?: string | null): number {
    const row = this.db
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
      this.db
        .prepare('INSERT INTO context_sets (name, task_id, scanner_id, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(name, taskId, scannerId, description ?? null, t, t).lastInsertRowid,
    );
    this.audit('create-set', { set: name, task: taskName, scanner: scannerName });
    return id;
  }

  /** @internal */ insertVolume(meta: VolumeMeta, values: number[] | null): void {
    this.db
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

  /** @internal */ insertPair(
    setId: number,
    imageSha: string,
    labelSha: string,
    imageSource: string | null,
    labelSource: string | null,
    addedBy: string,
    addedAt: string,
  ): number {
    const pos = this.nextPosition(setId);
    const id = Number(
      this.db
        .prepare(
          'INSERT INTO pairs (set_id, position, image_sha256, label_sha256, image_source, label_source, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(setId, pos, imageSha, labelSha, imageSource, labelSource, addedBy, addedAt).lastInsertRowid,
    );
    this.db.prepare('UPDATE context_sets SET updated_at = ? WHERE id = ?').run(now(), setId);
    return id;
  }

  /** @internal */ volumeMeta(sha: string): VolumeMeta | undefined {
    const v = this.db.prepare('SELECT * FROM volumes WHERE sha256 = ?').get(sha) as Row | undefined;
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

  /** @internal Distinct label values recorded for a volume, or null when unknown. */
  volumeValues(sha: string): number[] | null {
    const v = this.db.prepare('SELECT values_json FROM volumes WHERE sha256 = ?').get(sha) as { values_json: string | null } | undefined;
    return v?.values_json ? JSON.parse(v.values_json) : null;
  }

  private nextPosition(setId: number): number {
    const r = this.db.prepare('SELECT coalesce(max(position), 0) + 1 AS p FROM pairs WHERE set_id = ?').get(setId) as { p: number };
    return r.p;
  }

  private deleteUnreferencedVolumeRows(): Array<{ sha256: string; relPath: string; bytes: number }> {
    const rows = this.db
      .prepare(
        `SELECT sha256, rel_path, bytes FROM volumes v WHERE
           NOT EXISTS (SELECT 1 FROM pairs p WHERE p.image_sha256 = v.sha256 OR p.label_sha256 = v.sha256)
           AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.result_sha256 = v.sha256)`,
      )
      .all() as Array<{ sha256: string; rel_path: string; bytes: number }>;
    const del = this.db.prepare('DELETE FROM volumes WHERE sha256 = ?');
    for (const r of rows) del.run(r.sha256);
    return rows.map((r) => ({ sha256: r.sha256, relPath: r.rel_path, bytes: r.bytes }));
  }

  /**
   * @internal Deletes the files of volumes no row references. Done under the write lock, and every
   * commit that references a file first checks (under the same lock) that it exists, so a file is never
   * deleted between another process's check and its commit.
   */
  unlinkIfUnreferenced(metas: Array<{ sha256: string; relPath: string }>): void {
    this.transaction(() => {
      const row = this.db.prepare('SELECT 1 FROM volumes WHERE sha256 = ?');
      for (const m of metas) if (!row.get(m.sha256)) rmSync(this.files.abs(m.relPath), { force: true });
    });
  }

  /** @internal Inside a write transaction: every file about to be referenced must still be there. */
  assertFilesPresent(metas: Array<{ sha256: string; relPath: string }>): void {
    for (const m of metas) if (!existsSync(this.files.abs(m.relPath))) throw new FileVanished(this.files.abs(m.relPath));
  }
}

type Row = Record<string, unknown>;

/** A volume file disappeared between writing it and committing (a concurrent trash empty or sweep). */
export class FileVanished extends InputError {
  constructor(path: string) {
    super(path, 'was removed by another process while this change was being saved; try again', 'retry');
  }
}

function prefixed(row: Row, prefix: string): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

// The tasks table keeps the library's word (task-word.ts); its CHECK constraint admits no other.
function taskFromRow(r: Row): TaskInfo {
  return {
    id: r.id as number,
    name: r.name as string,
    kind: taskOfWord(r.kind)!,
    structure: (r.structure as string) ?? null,
    labels: JSON.parse((r.labels_json as string) ?? '[]'),
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

function scannerFromDicom(volume: Volume): Omit<ScannerSpec, 'name'> {
  const d = volume.source.dicom;
  if (!d) return {};
  const str = (k: string) => (typeof d[k] === 'string' && d[k] ? (d[k] as string) : undefined);
  const fs = Number(d.fieldStrength);
  return {
    manufacturer: str('manufacturer'),
    model: str('model'),
    fieldStrength: Number.isFinite(fs) && d.fieldStrength !== '' ? fs : undefined,
    sequence: str('sequence') ?? str('protocol'),
    institution: str('institution'),
  };
}

async function loadVolume(input: VolumeInput): Promise<LoadedVolume> {
  if ('volume' in input) {
    // An open volume (possibly a DICOM import or an edited mask): store it as gzipped NIfTI.
    const raw = encodeNifti(input.volume, { intent: input.intent });
    const bytes = await gzipAsync(raw, 6);
    const display = input.name ?? input.volume.source.path ?? 'open volume';
    const { meta } = await describeNifti(bytes, display, raw);
    return { meta, bytes, volume: input.volume, source: input.volume.source.path ?? display, display };
  }
  const path = resolve(input.path);
  const st = await stat(path).catch(() => null);
  if (st?.isDirectory()) {
    const opened = await openImagePath(path);
    if (opened.kind === 'segs')
      throw new InputError(path, 'holds only DICOM-SEG files; convert the SEG to NIfTI on its series first (neuroverse convert seg.dcm --out mask.nii.gz)');
    if (opened.kind !== 'volume')
      throw new InputError(path, `holds ${opened.scan.series.length} DICOM series; convert the one you want to NIfTI first`, 'several-series');
    const raw = encodeNifti(opened.volume);
    const bytes = await gzipAsync(raw, 6);
    const { meta } = await describeNifti(bytes, path, raw);
    return { meta, bytes, volume: opened.volume, source: path, display: input.path };
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputError(input.path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message);
  }
  // The file's bytes are kept exactly as given, so its sha256 is the one the user can compute.
  const { meta, volume } = await describeNifti(bytes, input.path);
  return { meta, bytes, volume, source: path, display: input.path };
}
