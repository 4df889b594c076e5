import { readFileSync, writeFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { DB_FILE, Library, LATEST_VERSION, openDatabase, schemaVersion, resolveContextSet, libraryDir } from '../../main/library/index.js';
import type { Migration } from '../../main/library/migrations.js';
import { MIGRATIONS } from '../../main/library/migrations.js';
import { tempDir } from '../helpers/tmp.js';
import { writePair } from './fixtures.js';
import { dicomDir, hasSharedData } from '../helpers/shared-data.js';
import { openImagePath, readNifti, writeNifti } from '../../main/imaging/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const T1 = join(ROOT, 'resources/sample/colin27_t1.nii.gz');
const AAL = join(ROOT, 'resources/sample/colin27_aal.nii.gz');
const SYNTHSEG = resolve(ROOT, '../shared/data/synthseg-label-maps/training_seg_01.nii.gz');
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('schema migrations', () => {
  const dir = tempDir('nv-lib-mig-');

  test('an empty file is migrated up to the latest version, in WAL mode, and re-opening is a no-op', () => {
    const file = join(dir, 'empty.db');
    writeFileSync(file, ''); // a zero-byte file is a valid, empty SQLite database
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    expect(tables).toEqual(['audit_log', 'context_sets', 'pairs', 'runs', 'scanners', 'studies', 'tasks', 'volumes']);
    db.close();
    const again = openDatabase(file);
    expect(schemaVersion(again)).toBe(LATEST_VERSION);
    again.close();
  });

  test('a failing migration rolls back whole and leaves the previous version', () => {
    const file = join(dir, 'fail.db');
    openDatabase(file).close();
    const broken: Migration = {
      version: LATEST_VERSION + 1,
      description: 'adds a table, then fails',
      up(db) {
        db.exec('CREATE TABLE half_done (x INTEGER)');
        throw new Error('boom');
      },
    };
    expect(() => openDatabase(file, [...MIGRATIONS, broken])).toThrow('boom');
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half_done'").get()).toEqual({ n: 0 });
    db.close();
  });

  test('a later migration upgrades an existing library in place, keeping its rows', () => {
    const file = join(dir, 'upgrade.db');
    const v1 = openDatabase(file);
    v1.prepare("INSERT INTO tasks (name, kind, labels_json, created_at) VALUES ('hippo', 'segmentation', '[17]', 'then')").run();
    v1.close();
    const v2: Migration = {
      version: LATEST_VERSION + 1,
      description: 'tasks get a colour',
      up(db) {
        db.exec("ALTER TABLE tasks ADD COLUMN colour TEXT NOT NULL DEFAULT '#ff0000'");
      },
    };
    const db = openDatabase(file, [...MIGRATIONS, v2]);
    expect(schemaVersion(db)).toBe(LATEST_VERSION + 1);
    expect(db.prepare('SELECT name, labels_json, colour FROM tasks').all()).toEqual([{ name: 'hippo', labels_json: '[17]', colour: '#ff0000' }]);
    db.close();
  });

  test('a library from before lesion tasks (schema 2) opens with its tasks as anatomy and takes lesion tasks after', async () => {
    const libDir = join(dir, 'v2-lib');
    mkdirSync(libDir);
    const v2 = openDatabase(join(libDir, DB_FILE), MIGRATIONS.slice(0, 2));
    expect(schemaVersion(v2)).toBe(2);
    v2.prepare("INSERT INTO tasks (name, kind, labels_json, created_at) VALUES ('hippo', 'segmentation', '[17]', 'then')").run();
    v2.close();
    const lib = await Library.open(libDir);
    try {
      expect(schemaVersion(lib.db)).toBe(LATEST_VERSION);
      expect(lib.listTasks()).toMatchObject([{ name: 'hippo', labels: [17], lesion: false }]);
      const p = await writePair(dir, 41);
      await lib.addPair({ set: 'tumour', task: { name: 'tumour', lesion: true }, scanner: 's', image: { path: p.image }, label: { path: p.label } });
      expect(lib.requireSet('tumour').task).toMatchObject({ name: 'tumour', kind: 'segment', lesion: true });
      // The column refuses anything but 0 and 1, as the CHECK on kind does for its words.
      expect(() => lib.db.prepare("UPDATE tasks SET lesion = 2 WHERE name = 'hippo'").run()).toThrow(/CHECK/);
    } finally {
      lib.close();
    }
  });

  test('a library from a newer app and a file that is not SQLite are refused with InputError', () => {
    const newer = join(dir, 'newer.db');
    const raw = new Database(newer);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => openDatabase(newer)).toThrow(/schema version 99 is newer/);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, just text that is long enough to have a header............................');
    expect(() => openDatabase(junk)).toThrow(InputError);
  });
});

describe('library store', () => {
  const dir = tempDir('nv-lib-store-');
  const libDir = join(dir, 'lib');
  const inputs = join(dir, 'in');
  mkdirSync(inputs);

  test('add-pair with the real sample stores both files under their sha256 and creates set, task and scanner', async () => {
    const lib = await Library.open(libDir, { user: 'alice' });
    try {
      const pair = await lib.addPair({
        set: 'colin',
        task: { name: 'hippocampus', structure: 'hippocampus (AAL 37, 38)', labels: [37, 38] },
        scanner: 'mni-template',
        image: { path: T1 },
        label: { path: AAL },
      });
      expect(pair.image.sha256).toBe(sha(T1));
      expect(pair.label.sha256).toBe(sha(AAL));
      // The stored file is the user's file byte for byte, named by its hash.
      expect(sha(pair.image.path)).toBe(pair.image.sha256);
      expect(pair.image.path.endsWith(`${pair.image.sha256}.nii.gz`)).toBe(true);
      expect(pair.image.dims).toEqual([181, 217, 181]);
      expect(pair.label.values).toContain(37);
      expect(pair.imageSource).toBe(T1);
      const [set] = lib.listSets();
      expect(set).toMatchObject({ name: 'colin', task: { name: 'hippocampus', kind: 'segment', labels: [37, 38] }, scanner: { name: 'mni-template' } });
      expect(set.pairs).toHaveLength(1);
      expect(lib.listAudit().map((a) => [a.user, a.action])).toEqual([
        ['alice', 'add-pair'],
        ['alice', 'create-set'],
        ['alice', 'create-scanner'],
        ['alice', 'create-task'],
      ]);
      expect(await lib.verify()).toEqual([]);
      // The tasks table and the audit log keep the library's stored word, as libraries written before did.
      const raw = new Database(join(libDir, DB_FILE), { readonly: true });
      expect(raw.prepare('SELECT kind FROM tasks').all()).toEqual([{ kind: 'segmentation' }]);
      raw.close();
      expect(lib.listAudit().find((a) => a.action === 'create-task')?.detail).toMatchObject({ kind: 'segmentation' });
    } finally {
      lib.close();
    }
  });

  test('a label on another grid is refused with an InputError naming the label file, and nothing is stored', async () => {
    const lib = await Library.open(libDir);
    try {
      const before = readdirSync(join(libDir, 'volumes'), { recursive: true }).length;
      const err = await lib
        .addPair({ set: 'colin', task: 'hippocampus', scanner: 'mni-template', image: { path: T1 }, label: { path: SYNTHSEG } })
        .catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.file).toBe(SYNTHSEG);
      expect(err.message).toMatch(/grid 256×256×256 does not match the image's 181×217×181/);
      // Same dims, origin shifted by 0.5 mm: also another grid.
      const shifted = await writePair(inputs, 7, { labelOrigin: [-8, -8, -7.5] });
      const err2 = await lib.addPair({ set: 'x', task: 't', scanner: 's', image: { path: shifted.image }, label: { path: shifted.label } }).catch((e) => e);
      expect(err2).toBeInstanceOf(InputError);
      expect(err2.file).toBe(shifted.label);
      expect(err2.message).toMatch(/differs from the image's by up to 0.500 mm/);
      expect(readdirSync(join(libDir, 'volumes'), { recursive: true }).length).toBe(before);
      expect(lib.getSet('x')).toBeUndefined();
    } finally {
      lib.close();
    }
  });

  test('label values the task needs must be present; duplicates and conflicting sets are refused', async () => {
    const lib = await Library.open(libDir);
    try {
      const p = await writePair(inputs, 1, { values: [1, 2] });
      await expect(
        lib.addPair({ set: 'hip', task: { name: 'hippo', labels: [17, 53] }, scanner: 's1', image: { path: p.image }, label: { path: p.label } }),
      ).rejects.toThrow(/contains none of task "hippo"'s label values \(17, 53\)/);
      await lib.addPair({ set: 'hip', task: { name: 'hippo', labels: [2] }, scanner: 's1', image: { path: p.image }, label: { path: p.label } });
      await expect(lib.addPair({ set: 'hip', task: 'hippo', scanner: 's1', image: { path: p.image }, label: { path: p.label } })).rejects.toThrow(
        /already in set "hip"/,
      );
      await expect(lib.addPair({ set: 'hip', task: 'hippocampus', scanner: 's1', image: { path: p.image }, label: { path: p.label } })).rejects.toThrow(
        /belongs to task "hippo"/,
      );
      await expect(
        lib.addPair({ set: 'hip', task: { name: 'hippo', labels: [3] }, scanner: 's1', image: { path: p.image }, label: { path: p.label } }),
      ).rejects.toThrow(/has label values \[2\]/);
      expect(lib.requireSet('hip').pairs).toHaveLength(1);
    } finally {
      lib.close();
    }
  });

  test('identical volumes are stored once; trash keeps files until emptied; shared files survive', async () => {
    const lib = await Library.open(libDir);
    try {
      const a = await writePair(inputs, 2);
      const b = await writePair(inputs, 3, { values: [2] });
      const p1 = await lib.addPair({
        set: 'gen',
        task: { name: 'denoise', kind: 'generate' },
        scanner: 's1',
        image: { path: a.image },
        label: { path: b.image },
      });
      // The same image in another set: no second copy.
      const a2 = await writePair(inputs, 2, { values: [2] });
      const p2 = await lib.addPair({ set: 'hip', task: 'hippo', scanner: 's1', image: { path: a.image }, label: { path: a2.label } });
      expect(p2.image.path).toBe(p1.image.path);
      const p3 = await lib.addPair({ set: 'hip', task: 'hippo', scanner: 's1', image: { path: b.image }, label: { path: b.label } });
      expect(lib.requireSet('hip').pairs.map((p) => p.position)).toEqual([1, 2, 3]);

      lib.removePair(p3.id);
      expect(lib.requireSet('hip').pairs.map((p) => p.id)).not.toContain(p3.id);
      expect(lib.listTrash().map((t) => [t.id, t.setName])).toEqual([[p3.id, 'hip']]);
      expect(existsSync(p3.label.path)).toBe(true); // still recoverable
      lib.restorePair(p3.id);
      expect(lib.requireSet('hip').pairs.at(-1)!.id).toBe(p3.id);

      lib.removePair(p3.id);
      lib.removePair(p2.id);
      const emptied = await lib.emptyTrash();
      expect(emptied.pairs).toBe(2);
      // p3's label was used only by p3: gone. p3's image (b.image) is still the output of the 'gen' pair; a.image is p1's image.
      expect(existsSync(p3.label.path)).toBe(false);
      expect(existsSync(p2.label.path)).toBe(false);
      expect(existsSync(p3.image.path)).toBe(true);
      expect(existsSync(p1.image.path)).toBe(true);
      expect(emptied.volumes).toBe(2);
      expect(() => lib.removePair(p3.id)).toThrow(/not found/);
      expect(await lib.verify()).toEqual([]);
    } finally {
      lib.close();
    }
  });

  test('reorder, rename, runs and resolveContextSet', async () => {
    const lib = await Library.open(libDir);
    try {
      const ids = lib.requireSet('hip').pairs.map((p) => p.id);
      const c = await writePair(inputs, 4, { values: [2, 5] });
      const p = await lib.addPair({ set: 'hip', task: 'hippo', scanner: 's1', image: { path: c.image }, label: { path: c.label } });
      const order = [p.id, ...ids];
      expect(lib.reorderPairs('hip', order).pairs.map((x) => x.id)).toEqual(order);
      expect(() => lib.reorderPairs('hip', [p.id])).toThrow(/must list each of its pairs once/);
      lib.renameSet('hip', 'hippocampus-3T');
      expect(lib.getSet('hip')).toBeUndefined();
      expect(() => lib.renameSet('hippocampus-3T', 'gen')).toThrow(/already exists/);

      const r = resolveContextSet(lib, 'hippocampus-3T');
      expect(r.task).toBe('segment');
      expect(r.labels).toEqual([2]);
      expect(r.pairs.map((x) => x.imageFile)).toEqual(lib.requireSet('hippocampus-3T').pairs.map((x) => x.image.path));
      expect(resolveContextSet(lib, 'hippocampus-3T', [5, 2]).labels).toEqual([2, 5]);
      expect(() => resolveContextSet(lib, 'hippocampus-3T', [99])).toThrow(/occur in none/);
      expect(() => resolveContextSet(lib, 'nope')).toThrow(/context set "nope" not found/);
      expect(resolveContextSet(lib, 'gen').task).toBe('generate');

      const runId = await lib.recordRun({
        setName: 'hippocampus-3T',
        studyUid: '1.2.3',
        model: 'neuroverse3d',
        miniContext: 4,
        device: 'cpu',
        labels: [2],
        timings: { total: 1.5 },
        result: { path: c.label },
        startedAt: new Date().toISOString(),
      });
      expect(lib.listRuns()).toMatchObject([{ id: runId, set_name: 'hippocampus-3T', mini_context: 4, device: 'cpu', result_sha256: sha(c.label) }]);

      // A result kept from memory is stored as the same bytes as writing it to a labelled .nii.gz would give.
      const result = await readNifti(c.label);
      const written = join(inputs, 'result-written.nii.gz');
      await writeNifti(written, result, { intent: 'label' });
      const fromMemory = await lib.recordRun({
        setName: 'hippocampus-3T',
        model: 'vote',
        labels: [2],
        result: { volume: result, intent: 'label' },
        startedAt: new Date().toISOString(),
      });
      expect(lib.listRuns().find((r) => r.id === fromMemory)?.result_sha256).toBe(sha(written));
      expect(await lib.verify()).toEqual([]);
    } finally {
      lib.close();
    }
  });

  test('orphan files left by a crash are swept on open (only when old enough), staging of dead processes always', async () => {
    const orphanSha = 'f'.repeat(64);
    const orphan = join(libDir, 'volumes', 'ff', `${orphanSha}.nii.gz`);
    mkdirSync(join(libDir, 'volumes', 'ff'), { recursive: true });
    writeFileSync(orphan, 'left by a killed import');
    const deadStaging = join(libDir, 'staging', '999999999-abcd');
    mkdirSync(deadStaging, { recursive: true });
    writeFileSync(join(deadStaging, 'x'), 'partial');
    let lib = await Library.open(libDir); // default age guard: a fresh orphan may belong to a running import
    expect(existsSync(orphan)).toBe(true);
    expect(existsSync(deadStaging)).toBe(false);
    expect((await lib.verify()).map((p) => p.kind)).toEqual(['orphan-file']);
    lib.close();
    lib = await Library.open(libDir, { sweepMinAgeMs: 0 });
    expect(existsSync(orphan)).toBe(false);
    expect(await lib.verify()).toEqual([]);
    lib.close();
  });

  test('a file removed by another process between write and commit is written again, never referenced while missing', async () => {
    const lib = await Library.open(libDir);
    try {
      const p = await writePair(inputs, 9);
      const put = lib.files.put.bind(lib.files);
      let removed = 0;
      // Stand-in for a concurrent `trash empty`/sweep in another process, which deletes an unreferenced
      // file at exactly the worst moment: after our write, before our commit.
      lib.files.put = async (meta, bytes) => {
        const wrote = await put(meta, bytes);
        if (removed++ === 0) rmSync(lib.files.abs(meta.relPath));
        return wrote;
      };
      const pair = await lib.addPair({ set: 'race', task: 'cube', scanner: 's1', image: { path: p.image }, label: { path: p.label } });
      expect(removed).toBeGreaterThan(2); // first attempt's two puts, then the retry's
      expect(existsSync(pair.image.path)).toBe(true);
      expect(await lib.verify()).toEqual([]);
    } finally {
      lib.close();
    }
  });

  test('location: --library, then NEUROVERSE_LIBRARY, then <XDG data dir>/library', () => {
    expect(libraryDir('/x/y', { NEUROVERSE_LIBRARY: '/env' })).toBe('/x/y');
    expect(libraryDir(undefined, { NEUROVERSE_LIBRARY: '/env' })).toBe('/env');
    expect(libraryDir(undefined, { XDG_DATA_HOME: '/xdg' }, 'linux')).toBe('/xdg/neuroverse-workstation/library');
  });
});

describe.skipIf(!hasSharedData)('pairs from DICOM folders', () => {
  const dir = tempDir('nv-lib-dicom-');

  test('a DICOM image is stored as NIfTI and a new scanner is filled from its header', async () => {
    const folder = dicomDir('ge-3d-t1-mprage/In');
    const opened = await openImagePath(folder);
    if (opened.kind !== 'volume') throw new Error('expected one series');
    const image = opened.volume;
    // A label on the image's grid: voxels brighter than 1000.
    const data = new Uint8Array(image.data.length);
    for (let i = 0; i < data.length; i++) data[i] = image.data[i] > 1000 ? 1 : 0;
    const labelFile = join(dir, 'bright.nii.gz');
    await writeNifti(labelFile, { ...image, data, slope: 1, intercept: 0, source: { kind: 'memory' } }, { intent: 'label' });
    const lib = await Library.open(join(dir, 'lib'));
    try {
      const pair = await lib.addPair({ set: 'ge', task: 'bright', scanner: 'ge-site', image: { path: folder }, label: { path: labelFile } });
      expect(pair.image.dims).toEqual([256, 256, 130]);
      expect(pair.image.path.endsWith('.nii.gz')).toBe(true);
      expect(pair.imageSource).toBe(folder);
      const scanner = lib.requireSet('ge').scanner;
      expect(scanner.manufacturer).toMatch(/GE/i);
      expect(scanner.fieldStrength).toBeGreaterThan(0);
      // A time series is refused: one context image is one 3-D volume.
      const epi = dicomDir('siemens-mosaic-epi/In');
      const err = await lib.addPair({ set: 'ge', task: 'bright', scanner: 'ge-site', image: { path: epi }, label: { path: labelFile } }).catch((e) => e);
      expect(err).toBeInstanceOf(InputError);
      expect(err.message).toMatch(/4-D dims 72×72×5×2: a context pair needs single 3-D volumes/);
    } finally {
      lib.close();
    }
  });
});
