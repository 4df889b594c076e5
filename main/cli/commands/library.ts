import { InputError } from '../../common/errors.js';
import { ensureStarterSet, starterSource } from '../../library/starter.js';
import { resourcesDir } from '../../settings/paths.js';
import { exportBundle, importBundle, Library, libraryDir, type ContextSetInfo } from '../../library/index.js';
import { taskOfWord, taskWord } from '../../library/task-word.js';
import { flag, flagAll, hasFlag, parseArgs } from '../args.js';
import type { CliCommand, CliIo } from '../command.js';
import { cliProgress } from '../progress.js';

const USAGE = `usage: neuroverse library <command> [--library DIR] ...

  add-pair --set NAME --task NAME --scanner NAME [--label V ...] [--kind segmentation|generation]
           [--structure TEXT] [--lesion] <image> <label>
                         add an image/label (or input/output) pair; the set, task and scanner are
                         created on first use (the scanner from the image's DICOM header when it has one);
                         --lesion: the label marks a lesion or tumour (somewhere else in every patient), so
                         runs on the set learn it from the pairs' voxels instead of aligning them (docs/lesions.md)
  list [--json]          context sets, their pairs and each volume's sha256
  remove-pair <pair-id>  move a pair to the trash (its files stay until the trash is emptied)
  trash list [--json] | trash restore <pair-id> | trash empty
  export <bundle.zip> [--set NAME] [--force]
                         one set (or the whole library) as a portable .zip with a JSON manifest
  import <bundle.zip>    verify every hash and merge (all or nothing)
  check                  database integrity and every volume file's sha256

  --library DIR   library folder (default $NEUROVERSE_LIBRARY, else <data dir>/library;
                  on Linux $XDG_DATA_HOME/neuroverse-workstation/library)
  <image>, <label> are NIfTI files (.nii, .nii.gz) or DICOM folders; the label must be on the
  image's grid (same dims and voxel-to-world transform within 0.001 mm) or it is refused.`;

const SPEC = { value: ['library', 'set', 'task', 'scanner', 'label', 'kind', 'structure'], boolean: ['json', 'force', 'lesion'] };

export const libraryCommand: CliCommand = {
  name: 'library',
  summary: 'manage the context library: add pairs, list, trash, export/import bundles',
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, SPEC);
    const [sub, ...pos] = args.positional;
    if (!sub) throw new InputError(undefined, 'give a library command (add-pair, list, remove-pair, trash, export, import, check)', 'usage');
    const known = ['add-pair', 'list', 'remove-pair', 'trash', 'export', 'import', 'check'];
    if (!known.includes(sub)) throw new InputError(undefined, `unknown library command "${sub}"`, 'usage');
    const lib = await Library.open(libraryDir(flag(args, 'library')));
    try {
      switch (sub) {
        case 'add-pair':
          return await addPair(lib, args, pos, io);
        case 'list':
          // A fresh install lists the bundled starter set as the app would show it (installed once, see library/starter.ts).
          {
            const starter = starterSource(resourcesDir());
            if (starter) await ensureStarterSet(lib, starter);
          }
          return list(lib, hasFlag(args, 'json'), io);
        case 'remove-pair': {
          const id = pairId(pos);
          lib.removePair(id);
          io.out(`pair ${id} moved to the trash (neuroverse library trash restore ${id} brings it back)`);
          return 0;
        }
        case 'trash':
          return await trash(lib, pos, hasFlag(args, 'json'), io);
        case 'export': {
          const [out, extra] = pos;
          if (!out || extra !== undefined) throw new InputError(undefined, 'give exactly one output <bundle.zip>', 'usage');
          const s = await exportBundle(lib, out, { set: flag(args, 'set'), overwrite: hasFlag(args, 'force') });
          io.out(`${out}: ${s.sets} set(s), ${s.pairs} pair(s), ${s.volumes} volume file(s), ${s.bytes} bytes`);
          return 0;
        }
        case 'import': {
          const [file, extra] = pos;
          if (!file || extra !== undefined) throw new InputError(undefined, 'give exactly one <bundle.zip>', 'usage');
          const progress = cliProgress(io);
          try {
            const s = await importBundle(lib, file, {
              onProgress: (phase, done, total) => progress.report(phase, total ? done / total : null, `${done}/${total}`),
            });
            progress.done();
            for (const set of s.sets)
              io.out(`set "${set.name}"${set.created ? ' (new)' : ''}: ${set.pairsAdded} pair(s) added, ${set.pairsAlreadyThere} already there`);
            io.out(`${s.volumesAdded} volume file(s) added, ${s.volumesAlreadyThere} already in the library`);
          } finally {
            progress.done();
          }
          return 0;
        }
        case 'check': {
          const problems = await lib.verify();
          for (const p of problems) io.out(`${p.kind}: ${p.detail}`);
          const bad = problems.filter((p) => p.kind !== 'orphan-file');
          io.out(bad.length ? `${lib.dir}: ${bad.length} problem(s)` : `${lib.dir}: ok`);
          return bad.length ? 1 : 0;
        }
      }
      return 2;
    } finally {
      lib.close();
    }
  },
};

async function addPair(lib: Library, args: ReturnType<typeof parseArgs>, pos: string[], io: CliIo): Promise<number> {
  const [image, label, extra] = pos;
  if (!image || !label || extra !== undefined) throw new InputError(undefined, 'add-pair needs exactly <image> <label>', 'usage');
  const set = flag(args, 'set');
  const task = flag(args, 'task');
  const scanner = flag(args, 'scanner');
  if (!set || !task || !scanner) throw new InputError(undefined, 'add-pair needs --set, --task and --scanner', 'usage');
  const word = flag(args, 'kind');
  const kind = word === undefined ? undefined : taskOfWord(word);
  if (word !== undefined && !kind) throw new InputError(undefined, `--kind must be segmentation or generation (got "${word}")`, 'usage');
  const labels = flagAll(args, 'label').map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InputError(undefined, `--label must be an integer label value (got "${v}")`, 'usage');
    return n;
  });
  const pair = await lib.addPair({
    set,
    // Without --lesion an existing task stays what it is; a new one marks anatomy.
    task: { name: task, kind, structure: flag(args, 'structure'), labels: labels.length ? labels : undefined, lesion: hasFlag(args, 'lesion') || undefined },
    scanner,
    image: { path: image },
    label: { path: label },
  });
  io.out(`pair ${pair.id} added to set "${set}" as #${pair.position}`);
  io.out(`  image ${pair.image.sha256}  ${pair.image.dims.join('×')}`);
  io.out(`  label ${pair.label.sha256}  ${pair.label.dims.join('×')}`);
  return 0;
}

function list(lib: Library, json: boolean, io: CliIo): number {
  const sets = lib.listSets();
  if (json) {
    // The listing speaks the library's stored words, as `--kind` does and as scripts reading it expect.
    const listed = sets.map((s) => ({ ...s, task: { ...s.task, kind: taskWord(s.task.kind) } }));
    io.out(JSON.stringify({ library: lib.dir, sets: listed }, null, 2));
    return 0;
  }
  io.out(`library ${lib.dir}: ${sets.length} context set(s)`);
  for (const s of sets) io.out(describeSet(s));
  return 0;
}

function describeSet(s: ContextSetInfo): string {
  const task = `${s.task.name} (${taskWord(s.task.kind)}${s.task.lesion ? ', lesion' : ''}${s.task.labels.length ? `, labels ${s.task.labels.join(',')}` : ''})`;
  const lines = [`set "${s.name}"  task ${task}  scanner ${s.scanner.name}  ${s.pairs.length} pair(s)`];
  for (const p of s.pairs) {
    lines.push(`  #${p.position} pair ${p.id}  ${p.image.dims.join('×')}  added ${p.addedAt} by ${p.addedBy}`);
    lines.push(`     image ${p.image.sha256}  ${p.imageSource ?? ''}`);
    lines.push(`     label ${p.label.sha256}  ${p.labelSource ?? ''}`);
  }
  return lines.join('\n');
}

async function trash(lib: Library, pos: string[], json: boolean, io: CliIo): Promise<number> {
  const [action, ...rest] = pos;
  if (action === 'list') {
    const items = lib.listTrash();
    if (json) io.out(JSON.stringify(items, null, 2));
    else {
      io.out(`${items.length} pair(s) in the trash`);
      for (const t of items)
        io.out(`  pair ${t.id}  set "${t.setName}"  removed ${t.deletedAt} by ${t.deletedBy ?? '?'}  image ${t.image.sha256}  label ${t.label.sha256}`);
    }
    return 0;
  }
  if (action === 'restore') {
    const id = pairId(rest);
    lib.restorePair(id);
    io.out(`pair ${id} restored`);
    return 0;
  }
  if (action === 'empty') {
    const r = await lib.emptyTrash();
    io.out(`trash emptied: ${r.pairs} pair(s) deleted, ${r.volumes} volume file(s) (${r.bytes} bytes) no longer used removed`);
    return 0;
  }
  throw new InputError(undefined, 'trash needs list, restore <pair-id> or empty', 'usage');
}

function pairId(pos: string[]): number {
  const [v, extra] = pos;
  const n = Number(v);
  if (!v || extra !== undefined || !Number.isInteger(n) || n <= 0) throw new InputError(undefined, 'give one pair id (see neuroverse library list)', 'usage');
  return n;
}
