import { setIdOf } from './context-sets.js';
import { now, type LibraryStore } from './store.js';
import { loadVolume, type LoadedVolume, type VolumeInput } from './volume-input.js';
import { assertFilesPresent, insertVolume, unlinkIfUnreferenced } from './volume-rows.js';

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

/** Records a model run (and keeps its result volume in the library). Returns the run id. */
export async function recordRun(store: LibraryStore, run: RunRecord): Promise<number> {
  let result: LoadedVolume | null = null;
  let written = false;
  if (run.result) {
    result = await loadVolume(run.result);
    written = await store.files.put(result.meta, result.bytes);
  }
  try {
    return store.transaction(() => {
      const setId = run.setName ? setIdOf(store, run.setName) : null;
      let studyId: number | null = null;
      if (run.studyUid) {
        store.db.prepare('INSERT OR IGNORE INTO studies (study_uid, created_at) VALUES (?, ?)').run(run.studyUid, now());
        studyId = (store.db.prepare('SELECT id FROM studies WHERE study_uid = ?').get(run.studyUid) as { id: number }).id;
      }
      if (result) {
        assertFilesPresent(store, [result.meta]);
        insertVolume(store, result.meta, null);
      }
      const id = Number(
        store.db
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
            store.user,
          ).lastInsertRowid,
      );
      store.audit('record-run', {
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
    if (result && written) unlinkIfUnreferenced(store, [result.meta]);
    throw err;
  }
}

/** Every recorded run, oldest first, with its set's name. */
export function listRuns(store: LibraryStore): Array<Record<string, unknown>> {
  return store.db.prepare('SELECT r.*, s.name AS set_name FROM runs r LEFT JOIN context_sets s ON s.id = r.set_id ORDER BY r.id').all() as Array<
    Record<string, unknown>
  >;
}
