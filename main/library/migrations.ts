import type Database from 'better-sqlite3';

/**
 * Schema history, one entry per version. The database's `PRAGMA user_version` records how many have
 * been applied; opening runs the missing ones in order, each inside its own transaction, so a crash
 * mid-upgrade leaves the previous version intact. Never edit a released migration: append a new one.
 */
export interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    description: 'scanners, tasks, volumes, context sets, pairs (with trash), studies, runs, audit log',
    up(db) {
      db.exec(`
        CREATE TABLE scanners (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          manufacturer TEXT,
          model TEXT,
          field_strength REAL,
          sequence TEXT,
          institution TEXT,
          description TEXT,
          created_at TEXT NOT NULL
        );

        -- kind: 'segmentation' (label values of one named structure) or 'generation' (image to image).
        CREATE TABLE tasks (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          kind TEXT NOT NULL CHECK (kind IN ('segmentation', 'generation')),
          structure TEXT,
          labels_json TEXT NOT NULL DEFAULT '[]',
          created_at TEXT NOT NULL
        );

        -- Content-addressed volume files: the file lives at <library>/<rel_path>, named by its sha256.
        CREATE TABLE volumes (
          sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
          rel_path TEXT NOT NULL UNIQUE,
          bytes INTEGER NOT NULL,
          dims_json TEXT NOT NULL,
          spacing_json TEXT NOT NULL,
          affine_json TEXT NOT NULL,
          datatype TEXT NOT NULL,
          -- distinct values of a label map (JSON array), null when not known or too many
          values_json TEXT,
          created_at TEXT NOT NULL
        );

        CREATE TABLE context_sets (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          task_id INTEGER NOT NULL REFERENCES tasks(id),
          scanner_id INTEGER NOT NULL REFERENCES scanners(id),
          description TEXT,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        );

        -- A pair is in the trash while deleted_at is set; its volumes stay until the trash is emptied.
        CREATE TABLE pairs (
          id INTEGER PRIMARY KEY,
          set_id INTEGER NOT NULL REFERENCES context_sets(id) ON DELETE CASCADE,
          position INTEGER NOT NULL,
          image_sha256 TEXT NOT NULL REFERENCES volumes(sha256),
          label_sha256 TEXT NOT NULL REFERENCES volumes(sha256),
          image_source TEXT,
          label_source TEXT,
          added_by TEXT NOT NULL,
          added_at TEXT NOT NULL,
          deleted_at TEXT,
          deleted_by TEXT
        );
        CREATE INDEX pairs_by_set ON pairs(set_id, deleted_at, position);
        CREATE INDEX pairs_by_image ON pairs(image_sha256);
        CREATE INDEX pairs_by_label ON pairs(label_sha256);

        CREATE TABLE studies (
          id INTEGER PRIMARY KEY,
          study_uid TEXT UNIQUE,
          patient_ref TEXT,
          description TEXT,
          scanner_id INTEGER REFERENCES scanners(id),
          created_at TEXT NOT NULL
        );

        CREATE TABLE runs (
          id INTEGER PRIMARY KEY,
          study_id INTEGER REFERENCES studies(id) ON DELETE SET NULL,
          set_id INTEGER REFERENCES context_sets(id) ON DELETE SET NULL,
          model TEXT NOT NULL,
          mini_context INTEGER,
          device TEXT,
          target_source TEXT,
          labels_json TEXT NOT NULL DEFAULT '[]',
          timings_json TEXT NOT NULL DEFAULT '{}',
          result_sha256 TEXT REFERENCES volumes(sha256),
          started_at TEXT NOT NULL,
          finished_at TEXT,
          run_by TEXT NOT NULL
        );
        CREATE INDEX runs_by_result ON runs(result_sha256);

        CREATE TABLE audit_log (
          id INTEGER PRIMARY KEY,
          at TEXT NOT NULL,
          user TEXT NOT NULL,
          action TEXT NOT NULL,
          detail_json TEXT NOT NULL DEFAULT '{}'
        );
      `);
    },
  },
  {
    version: 2,
    description: 'runs record how they were made: method (model or atlas vote) and the alignment of the context pairs',
    up(db) {
      db.exec(`
        ALTER TABLE runs ADD COLUMN method TEXT;
        ALTER TABLE runs ADD COLUMN alignment TEXT;
      `);
    },
  },
  {
    version: 3,
    description: 'a task says whether its label marks a lesion (somewhere else in every head) or anatomy; existing tasks are anatomy',
    up(db) {
      db.exec('ALTER TABLE tasks ADD COLUMN lesion INTEGER NOT NULL DEFAULT 0 CHECK (lesion IN (0, 1))');
    },
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
