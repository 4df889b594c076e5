import { mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../common/errors.js';
import { addPair, type AddPairInput } from './add-pair.js';
import { listAudit, writeAudit } from './audit-log.js';
import { getSet, listScanners, listSets, listTasks, renameSet, reorderPairs, requireSet } from './context-sets.js';
import { openDatabase, type Db } from './db.js';
import { listRuns, recordRun, type RunRecord } from './run-log.js';
import type { LibraryStore } from './store.js';
import { emptyTrash, listTrash, removePair, restorePair } from './trash.js';
import type { AuditEntry, ContextSetInfo, LibraryProblem, PairInfo, ScannerInfo, TaskInfo, TrashedPair } from './types.js';
import { sweepOrphans, verifyLibrary } from './verify.js';
import { volumePath } from './volume-rows.js';
import { VolumeFiles } from './volumes.js';

export type { AddPairInput } from './add-pair.js';
export type { RunRecord } from './run-log.js';
export type { VolumeInput } from './volume-input.js';

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
 *
 * The class is the library's front door; each concept lives in its own file and takes the library as
 * a `LibraryStore`: context sets and pairs (context-sets.ts, add-pair.ts), the trash (trash.ts), the
 * run log (run-log.ts), the audit log (audit-log.ts), verification and the sweep (verify.ts), volume
 * rows and files (volume-rows.ts, volumes.ts).
 */
export class Library implements LibraryStore {
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

  // ---------------------------------------------------------------- audit log (audit-log.ts)

  audit(action: string, detail: Record<string, unknown> = {}): void {
    writeAudit(this.db, this.user, action, detail);
  }

  listAudit(limit = 100): AuditEntry[] {
    return listAudit(this.db, limit);
  }

  // ---------------------------------------------------------------- context sets and pairs (context-sets.ts, add-pair.ts)

  listTasks(): TaskInfo[] {
    return listTasks(this);
  }

  listScanners(): ScannerInfo[] {
    return listScanners(this);
  }

  listSets(): ContextSetInfo[] {
    return listSets(this);
  }

  getSet(name: string): ContextSetInfo | undefined {
    return getSet(this, name);
  }

  /** Like getSet, but a missing set is the user's error, listing the sets there are. */
  requireSet(name: string): ContextSetInfo {
    return requireSet(this, name);
  }

  volumePath(sha: string): string {
    return volumePath(this, sha);
  }

  /**
   * Adds one image/label pair to a set, creating the set, task and scanner on first use.
   * Refused (InputError naming the label file) when the label is not on the image's grid.
   */
  addPair(input: AddPairInput): Promise<PairInfo> {
    return addPair(this, input);
  }

  /** New order of a set's pairs: `pairIds` must list each of its current pairs exactly once. */
  reorderPairs(setName: string, pairIds: number[]): ContextSetInfo {
    return reorderPairs(this, setName, pairIds);
  }

  renameSet(from: string, to: string): ContextSetInfo {
    return renameSet(this, from, to);
  }

  // ---------------------------------------------------------------- trash (trash.ts)

  listTrash(): TrashedPair[] {
    return listTrash(this);
  }

  /** Moves a pair to the trash; its files stay until emptyTrash. */
  removePair(pairId: number): void {
    removePair(this, pairId);
  }

  /** Takes a pair out of the trash, at the end of its set. */
  restorePair(pairId: number): void {
    restorePair(this, pairId);
  }

  /** Deletes the trashed pairs for good, then every volume nothing references any more (rows, then files). */
  emptyTrash(): Promise<{ pairs: number; volumes: number; bytes: number }> {
    return emptyTrash(this);
  }

  // ---------------------------------------------------------------- run log (run-log.ts)

  /** Records a model run (and keeps its result volume in the library). Returns the run id. */
  recordRun(run: RunRecord): Promise<number> {
    return recordRun(this, run);
  }

  listRuns(): Array<Record<string, unknown>> {
    return listRuns(this);
  }

  // ---------------------------------------------------------------- consistency (verify.ts)

  /**
   * Checks the database (integrity_check, foreign keys) and that every referenced volume file exists
   * with the right size and (with `hashes`) the right sha256. Orphan files are reported, not errors.
   */
  verify(options: { hashes?: boolean } = {}): Promise<LibraryProblem[]> {
    return verifyLibrary(this, options);
  }

  /** Removes what a crashed add or import left behind (see OpenOptions for `minAgeMs`). */
  sweepOrphans(minAgeMs: number): Promise<{ staging: number; files: number }> {
    return sweepOrphans(this, minAgeMs);
  }
}
