import { createHash } from 'node:crypto';
import { open, readFile, rm, stat, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../../common/errors.js';
import { gridMismatch, isSingleFrame } from '../../imaging/grid.js';
import { ensureScanner, ensureSet, ensureTask, insertPair, markWords } from '../context-sets.js';
import type { Library } from '../library.js';
import { taskOfWord, taskWord } from '../task-word.js';
import { assertFilesPresent, insertVolume, unlinkIfUnreferenced, volumeMeta, volumeValues } from '../volume-rows.js';
import { describeNifti, distinctValues, type VolumeMeta } from '../volumes.js';
import { DEFAULT_ZIP_LIMITS, ZipReader, type ZipEntry, type ZipLimits } from '../zip.js';
import { decodeManifest, MANIFEST_NAME, unsafeEntryName, VOLUME_ENTRY_RE, type BundleManifest } from './manifest.js';

export type ImportPhase = 'verify' | 'adopt' | 'commit';

export interface ImportOptions {
  limits?: Partial<ZipLimits>;
  /** Largest manifest.json accepted. */
  maxManifestBytes?: number;
  /** Called as work proceeds; 'commit' calls happen inside the database transaction. */
  onProgress?: (phase: ImportPhase, done: number, total: number) => void;
}

export interface ImportSummary {
  file: string;
  sets: Array<{ name: string; created: boolean; pairsAdded: number; pairsAlreadyThere: number }>;
  volumesAdded: number;
  volumesAlreadyThere: number;
}

/**
 * Imports a bundle all-or-nothing. Order of work:
 *  1. entry names (no traversal, only manifest.json and volumes/<sha>.nii[.gz]) and declared sizes;
 *  2. the manifest, and conflicts with what the library already holds (same task name, other labels…);
 *  3. every volume entry is inflated (counting bytes), hashed and parsed as NIfTI in a private staging
 *     folder, including those the library already has, so a bad bundle is refused whole;
 *  4. new files are moved into volumes/, then one transaction adds tasks, scanners, sets and pairs.
 * Any refusal before the commit removes what this import wrote; a crash leaves orphan files only
 * (swept on the next open). Identical volumes and pairs already present are not duplicated.
 */
export async function importBundle(lib: Library, file: string, options: ImportOptions = {}): Promise<ImportSummary> {
  const path = resolve(file);
  const progress = options.onProgress ?? (() => {});
  const zip = await ZipReader.open(path, { ...DEFAULT_ZIP_LIMITS, ...options.limits });
  let staging: string | null = null;
  const adopted: VolumeMeta[] = [];
  try {
    // 1. names
    const byName = new Map<string, ZipEntry>();
    for (const e of zip.entries) {
      const unsafe = unsafeEntryName(e.name);
      if (unsafe) throw new InputError(`${file}: entry "${e.name}"`, `${unsafe}: refused (path traversal)`, 'unsafe-path');
      if (byName.has(e.name)) throw new InputError(`${file}: entry "${e.name}"`, 'appears twice', 'bad-bundle');
      if (e.name !== MANIFEST_NAME && !VOLUME_ENTRY_RE.test(e.name))
        throw new InputError(`${file}: entry "${e.name}"`, 'is not part of a library bundle (only manifest.json and volumes/<sha256>.nii[.gz])', 'bad-bundle');
      byName.set(e.name, e);
    }
    const manifestEntry = byName.get(MANIFEST_NAME);
    if (!manifestEntry) throw new InputError(file, 'no manifest.json: not a library bundle', 'bad-bundle');

    // 2. manifest and conflicts
    const manifest = decodeManifest(await zip.readAll(manifestEntry, options.maxManifestBytes ?? 64 << 20), `${file}: manifest.json`);
    const volumeEntries = new Set(manifest.volumes.map((v) => v.entry));
    for (const name of byName.keys()) {
      if (name !== MANIFEST_NAME && !volumeEntries.has(name)) throw new InputError(`${file}: entry "${name}"`, 'is not listed in the manifest', 'bad-bundle');
    }
    for (const v of manifest.volumes) {
      const e = byName.get(v.entry);
      if (!e) throw new InputError(file, `manifest lists ${v.entry}, which the bundle does not contain`, 'bad-bundle');
      if (e.size !== v.bytes) throw new InputError(`${file}: entry "${v.entry}"`, `is ${e.size} bytes, the manifest says ${v.bytes}`, 'bad-bundle');
    }
    checkConflicts(lib, manifest, file);
    // Refuse up front rather than fill the disk and fail half-way (the staging copy needs the room).
    let needed = 0;
    for (const v of manifest.volumes) if (!volumeMeta(lib, v.sha256)) needed += v.bytes;
    const free = await statfs(lib.dir).then(
      (f) => f.bavail * f.bsize,
      () => Infinity,
    );
    if (needed > free)
      throw new InputError(file, `needs ${needed} bytes for new volumes but only ${free} are free in ${lib.dir} (nothing imported)`, 'disk-full');

    // 3. verify every volume; stage the new ones
    const labelUse = new Set<string>();
    const segTasks = new Set(manifest.tasks.filter((t) => taskOfWord(t.kind) === 'segment').map((t) => t.name));
    for (const s of manifest.sets) if (segTasks.has(s.task)) for (const p of s.pairs) labelUse.add(p.label);
    staging = await lib.files.newStagingDir();
    const staged = new Map<string, { path: string; meta: VolumeMeta; values: number[] | null }>();
    const metas = new Map<string, VolumeMeta>();
    const values = new Map<string, number[] | null>();
    let done = 0;
    for (const v of manifest.volumes) {
      const where = `${file}: entry "${v.entry}"`;
      const entry = byName.get(v.entry)!;
      // Already stored (row and file): only verified. A row whose file went missing is repaired from the bundle.
      const known = volumeMeta(lib, v.sha256);
      const have =
        known &&
        (await stat(lib.files.abs(known.relPath)).then(
          (st) => st.size === known.bytes,
          () => false,
        ))
          ? known
          : undefined;
      const target = join(staging, v.sha256);
      const fh = have ? null : await open(target, 'wx');
      const hash = createHash('sha256');
      try {
        await zip.extract(entry, async (chunk) => {
          hash.update(chunk);
          if (fh) await fh.write(chunk);
        });
        if (fh) await fh.sync();
      } finally {
        await fh?.close();
      }
      const actual = hash.digest('hex');
      if (actual !== v.sha256)
        throw new InputError(where, `sha256 is ${actual}, not the ${v.sha256} its name and the manifest declare (damaged or altered bundle)`, 'hash-mismatch');
      if (have) {
        metas.set(v.sha256, have);
      } else {
        // Parse it: the manifest's dims/affine are only trusted once the file itself agrees.
        const { meta, volume } = await describeNifti(await readFile(target), where);
        const same =
          meta.relPath.endsWith('.gz') === v.entry.endsWith('.gz') &&
          JSON.stringify([meta.dims, meta.spacing, meta.affine, meta.datatype]) === JSON.stringify([v.dims, v.spacing, v.affine, v.datatype]);
        if (!same) throw new InputError(where, 'header (dims, spacing, affine or data type) differs from the manifest', 'bad-bundle');
        const vals = labelUse.has(v.sha256) ? distinctValues(volume) : null;
        staged.set(v.sha256, { path: target, meta, values: vals });
        metas.set(v.sha256, meta);
        values.set(v.sha256, vals);
      }
      progress('verify', ++done, manifest.volumes.length);
    }
    for (const s of manifest.sets) {
      for (const p of s.pairs) {
        const img = metas.get(p.image)!;
        const lab = metas.get(p.label)!;
        for (const m of [img, lab])
          if (!isSingleFrame(m.dims)) throw new InputError(`${file}: volume ${m.sha256}`, `is not a single 3-D volume (${m.dims.join('×')})`, 'bad-bundle');
        const mismatch = gridMismatch(img, lab);
        if (mismatch) throw new InputError(`${file}: set "${s.name}", label ${p.label}`, `${mismatch} (image ${p.image})`, 'grid-mismatch');
        // Same rule as add-pair: a segmentation label must hold one of its task's values.
        const task = manifest.tasks.find((t) => t.name === s.task)!;
        const vals = values.get(p.label) ?? volumeValues(lib, p.label);
        if (taskOfWord(task.kind) === 'segment' && task.labels.length && vals && !task.labels.some((l) => vals.includes(l))) {
          throw new InputError(
            `${file}: set "${s.name}", label ${p.label}`,
            `contains none of task "${task.name}"'s label values (${task.labels.join(', ')})`,
            'empty-label',
          );
        }
      }
    }

    // 4. adopt files, then one transaction
    done = 0;
    for (const [, s] of staged) {
      await lib.files.adopt(s.path, s.meta.relPath);
      adopted.push(s.meta);
      progress('adopt', ++done, staged.size);
    }
    const summary = lib.transaction(() => {
      checkConflicts(lib, manifest, file); // again, under the write lock: another process may have changed things
      assertFilesPresent(lib, [...metas.values()]);
      const tasks = new Map(manifest.tasks.map((t) => [t.name, t]));
      const scanners = new Map(manifest.scanners.map((s) => [s.name, s]));
      for (const v of manifest.volumes) insertVolume(lib, metas.get(v.sha256)!, values.get(v.sha256) ?? null);
      const sets: ImportSummary['sets'] = [];
      let n = 0;
      for (const s of manifest.sets) {
        const t = tasks.get(s.task)!;
        const sc = scanners.get(s.scanner)!;
        const created = !lib.getSet(s.name);
        const taskId = ensureTask(lib, {
          name: t.name,
          kind: taskOfWord(t.kind),
          structure: t.structure ?? undefined,
          labels: t.labels,
          lesion: t.lesion === true,
        });
        const scannerId = ensureScanner(lib, { ...nullsToUndefined(sc), name: sc.name });
        const setId = ensureSet(lib, s.name, taskId, scannerId, t.name, sc.name, s.description);
        let added = 0;
        let there = 0;
        const existing = lib.db.prepare('SELECT 1 FROM pairs WHERE set_id = ? AND image_sha256 = ? AND label_sha256 = ? AND deleted_at IS NULL');
        for (const p of s.pairs) {
          if (existing.get(setId, p.image, p.label)) {
            there++;
            continue;
          }
          insertPair(lib, setId, p.image, p.label, p.imageSource, p.labelSource, p.addedBy, p.addedAt);
          added++;
        }
        sets.push({ name: s.name, created, pairsAdded: added, pairsAlreadyThere: there });
        progress('commit', ++n, manifest.sets.length);
      }
      lib.audit('import-bundle', { file: path, sets, volumesAdded: staged.size });
      return { file: path, sets, volumesAdded: staged.size, volumesAlreadyThere: manifest.volumes.length - staged.size };
    });
    return summary;
  } catch (err) {
    // All-or-nothing: drop files this import moved in unless the commit made them referenced.
    try {
      unlinkIfUnreferenced(lib, adopted);
    } catch {
      // the original error matters more; leftovers are orphans the next open sweeps
    }
    throw err;
  } finally {
    await zip.close();
    if (staging) await rm(staging, { recursive: true, force: true });
  }
}

/** Refuses a bundle whose tasks or sets contradict the library's (same name, other meaning). */
function checkConflicts(lib: Library, m: BundleManifest, file: string): void {
  const tasks = new Map(lib.listTasks().map((t) => [t.name, t]));
  for (const t of m.tasks) {
    const have = tasks.get(t.name);
    if (have && (taskWord(have.kind) !== t.kind || have.labels.join(',') !== [...t.labels].sort((a, b) => a - b).join(','))) {
      throw new InputError(
        file,
        `task "${t.name}" here is ${taskWord(have.kind)} [${have.labels.join(', ')}], the bundle's is ${t.kind} [${t.labels.join(', ')}]; rename one first (nothing imported)`,
        'conflict',
      );
    }
    if (have && have.lesion !== (t.lesion === true))
      throw new InputError(
        file,
        `task "${t.name}" here marks ${markWords(have.lesion)}, the bundle's ${markWords(t.lesion === true)}; rename one first (nothing imported)`,
        'conflict',
      );
  }
  for (const s of m.sets) {
    const have = lib.getSet(s.name);
    if (have && (have.task.name !== s.task || have.scanner.name !== s.scanner)) {
      throw new InputError(
        file,
        `set "${s.name}" here belongs to task "${have.task.name}" / scanner "${have.scanner.name}", the bundle's to "${s.task}" / "${s.scanner}"; rename one first (nothing imported)`,
        'conflict',
      );
    }
  }
}

function nullsToUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], null> | undefined } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = v === null ? undefined : v;
  return out as { [K in keyof T]: Exclude<T[K], null> | undefined };
}
