import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { InputError } from '../common/errors.js';
import { volumeShortNames } from '../common/volume-names.js';
import { isNiftiName, scanDicomFiles, summariesWithVolumes, type SeriesDecoder } from '../imaging/index.js';

/** One scan of a worklist: a NIfTI file, or one DICOM series of a folder (one volume of it, when it makes several). */
export interface BatchScan {
  /** Stable, file-system-safe id: the scan's place under the folder (its output folder's name). */
  id: string;
  /** What the user knows it by: the file, or the folder and the series. */
  label: string;
  kind: 'nifti' | 'dicom';
  /** The NIfTI file, or the folder holding the series. */
  path: string;
  seriesUid?: string;
  /** Which volume of a series that makes several (its name, as `convert --volume` takes it). */
  volume?: string;
  /** Size and modification time of every file it is read from: a changed input is another scan to the resume check. */
  fingerprint: string;
}

export interface FindScansOptions {
  /** Only NIfTI files whose path under the folder matches (e.g. `_T1\.nii`): label maps beside the images are not scans. */
  match?: RegExp;
  /** Folders not to look into (the batch's own output folder when it lies inside the input). */
  skip?: string[];
  /** Where a series that may make several volumes is converted to learn their names (default: this thread). */
  decode?: SeriesDecoder;
  signal?: AbortSignal;
}

/**
 * Every scan under a folder, recursively, in a stable order: each NIfTI file, and each image series of each folder
 * that holds DICOM files (a folder's own files are grouped by series; DICOM-SEGs and non-DICOM files are no scans).
 * A series that makes several volumes (echoes, magnitude and phase, ADC beside the diffusion images) is one scan
 * per volume. Only headers are read here, except that such a series is converted once to learn its volumes' names;
 * the voxels are read when the scan's turn comes, so memory does not grow with the list.
 */
export async function findScans(root: string, o: FindScansOptions = {}): Promise<BatchScan[]> {
  const info = await stat(root).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(root, err.code === 'ENOENT' ? 'no such folder' : (err.message ?? 'cannot be read'));
  });
  if (!info.isDirectory()) throw new InputError(root, 'is not a folder: give the folder that holds the scans');
  const scans: BatchScan[] = [];
  const skip = new Set((o.skip ?? []).map((p) => p.replace(/[\\/]+$/, '')));
  // Folders already listed, by their real path: a symbolic link back up the tree is not followed round for ever.
  const seen = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    o.signal?.throwIfAborted();
    if (skip.has(dir)) return;
    const real = await realpath(dir);
    if (seen.has(real)) return;
    seen.add(real);
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    const others: string[] = [];
    const folders: string[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      // A worklist folder is often links to where the scans lie (a PACS export, a study share): what a link points at
      // counts; a broken link is no scan.
      const kind = e.isSymbolicLink()
        ? await stat(p).then(
            (t) => (t.isDirectory() ? 'dir' : t.isFile() ? 'file' : null),
            () => null,
          )
        : e.isDirectory()
          ? 'dir'
          : e.isFile()
            ? 'file'
            : null;
      if (kind === 'dir') folders.push(p);
      if (kind !== 'file') continue;
      if (isNiftiName(e.name)) {
        const rel = relative(root, p);
        if (o.match && !o.match.test(rel)) continue;
        const s = await stat(p);
        scans.push({ id: safeId(rel.replace(/\.nii(\.gz)?$/i, '')), label: rel, kind: 'nifti', path: p, fingerprint: `${s.size}:${s.mtimeMs}` });
      } else others.push(p);
    }
    if (others.length) scans.push(...(await dicomScans(root, dir, others, o)));
    for (const f of folders) await visit(f);
  };
  await visit(root);
  return scans;
}

/** The image series among one folder's own files; none when the folder holds no DICOM image. */
async function dicomScans(root: string, dir: string, files: string[], o: FindScansOptions): Promise<BatchScan[]> {
  const read = await Promise.all(files.map(async (p) => ({ name: basename(p), path: p, data: new Uint8Array(await readFile(p)), st: await stat(p) })));
  const sizes = new Map(read.map((f) => [f.name, `${f.st.size}:${f.st.mtimeMs}`]));
  let scan;
  try {
    scan = await scanDicomFiles(
      read.map(({ name, data }) => ({ name, data })),
      dir,
    );
  } catch (err) {
    // A folder of notes, spreadsheets or pictures beside the scans is not an error of the worklist.
    if (err instanceof InputError && /no DICOM images found/.test(err.message)) return [];
    throw err;
  }
  const relDir = relative(root, dir) || '.';
  const summaries = await summariesWithVolumes(scan, o.decode, o.signal);
  // DICOM-SEGs are not among the series (scanDicomFiles keeps them apart): a segmentation is not a scan to segment.
  return scan.series.flatMap((s, k) => {
    const names = s.headers.map((h) => h.file.name).sort();
    const fingerprint = createHash('sha256')
      .update(names.map((n) => `${n}:${sizes.get(n) ?? ''}`).join('\n'))
      .digest('hex');
    const number = s.headers[0].seriesNumber;
    const what = `${number !== null ? `series ${number}` : 'series'}${s.headers[0].seriesDescription ? ` ${s.headers[0].seriesDescription}` : ''}`;
    const id = safeId(`${relDir === '.' ? '' : `${relDir}${sep}`}${number !== null ? `s${number}-` : ''}${s.uid.slice(-12)}`);
    const common = { kind: 'dicom' as const, path: dir, seriesUid: s.uid, fingerprint };
    const volumes = summaries[k].volumes ?? [];
    if (volumes.length < 2) return [{ ...common, id, label: `${relDir}${sep} (${what}, ${names.length} files)` }];
    // Each volume is a scan of its own: its folder and CSV rows say which by number and by what tells it apart ("e2").
    const short = volumeShortNames(volumes);
    return volumes.map((volume, i) => ({
      ...common,
      id: `${id}-v${i + 1}-${safeId(short[i])}`,
      label: `${relDir}${sep} (${what}, ${names.length} files, volume ${i + 1} of ${volumes.length}: ${volume})`,
      volume,
    }));
  });
}

/** A name every file system accepts: folders become "__", anything unusual "_". */
function safeId(rel: string): string {
  return (
    rel
      .split(/[\\/]+/)
      .map((part) => part.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_'))
      .join('__') || 'scan'
  );
}
