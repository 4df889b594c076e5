import { InputError } from '../common/errors.js';
import type { Task } from '../common/task.js';
import type { Volume } from '../imaging/index.js';
import { gridMismatch, isSingleFrame } from '../imaging/grid.js';
import { checkLesionAgrees, ensureScanner, ensureSet, ensureTask, getSet, insertPair, setById, setIdOf, taskFromRow } from './context-sets.js';
import { checkName, normaliseLabels } from './names.js';
import { now, type LibraryStore, type Row } from './store.js';
import type { PairInfo, ScannerSpec, TaskSpec } from './types.js';
import { loadVolume, type LoadedVolume, type VolumeInput } from './volume-input.js';
import { assertFilesPresent, FileVanished, insertVolume, unlinkIfUnreferenced } from './volume-rows.js';
import { distinctValues } from './volumes.js';

export interface AddPairInput {
  set: string;
  /** A task name (created as a segmentation task on first use) or a full spec. */
  task: string | TaskSpec;
  /** A scanner name (created on first use, filled from the image's DICOM header when it has one) or a full spec. */
  scanner: string | ScannerSpec;
  image: VolumeInput;
  label: VolumeInput;
}

/**
 * Adds one image/label pair to a set, creating the set, task and scanner on first use.
 * Refused (InputError naming the label file) when the label is not on the image's grid: such a pair
 * would silently teach the model a shifted structure, and resampling is a decision for the user.
 */
export async function addPair(store: LibraryStore, input: AddPairInput): Promise<PairInfo> {
  const setName = checkName(input.set, 'context set');
  const taskName = typeof input.task === 'string' ? input.task : input.task.name;
  const scannerName = typeof input.scanner === 'string' ? input.scanner : input.scanner.name;
  const existingSet = getSet(store, setName);
  // Checked again under the write lock; here it spares reading the volumes for a doomed add.
  if (existingSet && (existingSet.task.name !== taskName || existingSet.scanner.name !== scannerName)) {
    throw new InputError(
      undefined,
      `context set "${setName}" belongs to task "${existingSet.task.name}" and scanner "${existingSet.scanner.name}", not "${taskName}" / "${scannerName}"`,
      'conflict',
    );
  }
  // Also before reading the volumes: a pair for the other kind of label is refused for that, whatever its label holds.
  const knownTask = store.db.prepare('SELECT * FROM tasks WHERE name = ?').get(taskName) as Row | undefined;
  if (knownTask && typeof input.task !== 'string') checkLesionAgrees(taskFromRow(knownTask), input.task);
  const image = await loadVolume(input.image);
  const label = await loadVolume(input.label);
  for (const v of [image, label]) {
    if (!isSingleFrame(v.meta.dims))
      throw new InputError(v.display, `has ${v.meta.dims.length}-D dims ${v.meta.dims.join('×')}: a context pair needs single 3-D volumes`);
  }
  const mismatch = gridMismatch(image.meta, label.meta);
  if (mismatch) throw new InputError(label.display, `${mismatch} (${image.display}); resample the label onto the image first`, 'grid-mismatch');

  const taskSpec = typeof input.task === 'string' ? { name: input.task } : input.task;
  const existingTask = store.db.prepare('SELECT * FROM tasks WHERE name = ?').get(checkName(taskSpec.name, 'task')) as Row | undefined;
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

  // Files first, then the commit that references them (see the comment on the Library class).
  const written: LoadedVolume[] = [];
  const volumes = image.meta.sha256 === label.meta.sha256 ? [image] : [image, label];
  for (let attempt = 1; ; attempt++) {
    for (const v of volumes) if (await store.files.put(v.meta, v.bytes)) written.push(v);
    try {
      const pairId = commitPair(store, setName, taskSpec, scannerSpec, image, label, values);
      const set = setById(store, setIdOf(store, setName));
      return set.pairs.find((p) => p.id === pairId)!;
    } catch (err) {
      // Another process deleted a shared file between our put and our commit: write it again.
      if (err instanceof FileVanished && attempt < 3) continue;
      unlinkIfUnreferenced(
        store,
        written.map((v) => v.meta),
      );
      throw err;
    }
  }
}

function commitPair(
  store: LibraryStore,
  setName: string,
  taskSpec: TaskSpec,
  scannerSpec: ScannerSpec,
  image: LoadedVolume,
  label: LoadedVolume,
  values: number[] | null,
): number {
  return store.transaction(() => {
    assertFilesPresent(store, [image.meta, label.meta]);
    const taskId = ensureTask(store, taskSpec);
    const scannerId = ensureScanner(store, scannerSpec);
    const setId = ensureSet(store, setName, taskId, scannerId, taskSpec.name, scannerSpec.name);
    insertVolume(store, image.meta, null);
    insertVolume(store, label.meta, values);
    const dup = store.db
      .prepare('SELECT id FROM pairs WHERE set_id = ? AND image_sha256 = ? AND label_sha256 = ? AND deleted_at IS NULL')
      .get(setId, image.meta.sha256, label.meta.sha256) as { id: number } | undefined;
    if (dup) throw new InputError(label.display, `this image/label pair is already in set "${setName}" (pair ${dup.id})`, 'duplicate');
    const id = insertPair(store, setId, image.meta.sha256, label.meta.sha256, image.source, label.source, store.user, now());
    store.audit('add-pair', {
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
