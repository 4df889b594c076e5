import { createHash, randomUUID } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, normalize } from 'node:path';
import { InputError } from '../common/errors.js';
import type { FileBlob } from '../common/file-blob.js';
import {
  importSeries,
  isNiftiName,
  openImagePath,
  parseNiftiAsync,
  scanDicomFiles,
  segsBesideSeries,
  summariesWithVolumes,
  type DicomScan,
  type SeriesDecoder,
} from '../imaging/index.js';
import type { Volume } from '../imaging/volume.js';
import type { Jobs } from '../jobs/jobs.js';
import type { RecentFiles } from '../settings/recent-files.js';
import type { RecentFile } from '../settings/recent-file.js';
import { addSegVolumes, openSegsOnOpenVolumes } from './seg-overlays.js';
import type { OpenedVolume, OpenOptions, OpenResult, VolumeRole } from './opened-volume.js';
import type { VolumeStore } from './volume-store.js';

interface Pending {
  scan: DicomScan;
  /** Where the files live on disk (folder or cached upload), for the recent-files entry. */
  path: string;
  name: string;
  /** False for files opened only to be stored elsewhere (a library pair): no recent-files entry. */
  remember: boolean;
}

const MAX_PENDING = 4;

/**
 * Everything that puts a scan into the session: a path, dropped or uploaded files, a recent file, or the
 * series picked from a folder that held several. Each open runs as a job (progress, cancel) and, unless
 * told otherwise, is remembered in the recent-files list.
 */
export class VolumeOpener {
  private readonly pending = new Map<string, Pending>();

  constructor(
    /** `decode`: where DICOM pixels are assembled (the workstation passes a compute worker's); default this thread. */
    private readonly o: { volumes: VolumeStore; jobs: Jobs; recent: RecentFiles; dataDir: string; decode?: SeriesDecoder },
  ) {}

  /** Opens a file or folder by path. Not part of the renderer's API: a renderer never names paths. */
  openPath(path: string, opts: OpenOptions = {}): Promise<OpenResult> {
    return this.o.jobs.run(opts.jobId, async (progress, signal) => {
      const opened = await openImagePath(path, opts.seriesInstanceUid, progress, signal, this.o.decode, opts.volume);
      const name = basename(path.replace(/[\\/]+$/, ''));
      if (opened.kind === 'segs') return this.segResult(opened.scan);
      if (opened.kind === 'scan') {
        const pendingId = this.addPending({ scan: opened.scan, path, name, remember: opts.remember !== false });
        return { kind: 'choose-series', pendingId, folder: name, series: await summariesWithVolumes(opened.scan, this.o.decode, signal, progress) };
      }
      if (opened.scan && opts.volume === undefined) {
        const choice = this.volumeChoice({ scan: opened.scan, path, name, remember: opts.remember !== false }, opened.volume);
        if (choice) return choice;
      }
      const kind = opened.volume.source.kind === 'dicom' ? 'dicom' : 'nifti';
      const shown = displayName(name, opened.volume);
      if (opts.remember !== false) await this.remember(kind, path, shown, opened.volume);
      return this.volumeResult(opened.volume, shown, opts.role, opened.scan);
    });
  }

  async openFiles(files: FileBlob[], opts: OpenOptions = {}): Promise<OpenResult> {
    if (files.length === 0) throw new InputError(undefined, 'no files were given');
    // A copy is cached only for the recent-files list; files opened with remember: false leave no trace.
    const keep = opts.remember !== false;
    return this.o.jobs.run(opts.jobId, async (progress, signal) => {
      const label = files.length === 1 ? files[0].name : `${topFolder(files)} (${files.length} files)`;
      if (files.length === 1 && isNiftiName(files[0].name)) {
        progress('read', null, `Reading ${files[0].name}`);
        const volume = await parseNiftiAsync(files[0].data, files[0].name);
        if (keep) await this.remember('nifti', await this.cacheUpload(files), files[0].name);
        return this.volumeResult(volume, files[0].name, opts.role);
      }
      progress('scan', null, `Scanning ${files.length} files`);
      const scan = await scanDicomFiles(files, label, progress);
      if (scan.series.length === 0) return this.segResult(scan);
      const path = keep ? await this.cacheUpload(files) : label;
      const p: Pending = { scan, path, name: topFolder(files), remember: keep };
      if (scan.series.length > 1 && !opts.seriesInstanceUid) {
        return {
          kind: 'choose-series',
          pendingId: this.addPending(p),
          folder: p.name,
          series: await summariesWithVolumes(scan, this.o.decode, signal, progress),
        };
      }
      const volume = await importSeries(scan, opts.seriesInstanceUid, progress, this.o.decode, signal, opts.volume);
      return (opts.volume === undefined && this.volumeChoice(p, volume)) || this.keepScan(p, volume, opts.role);
    });
  }

  async chooseSeries(pendingId: string, seriesUid: string, opts: OpenOptions = {}): Promise<OpenedVolume> {
    const p = this.pending.get(pendingId);
    if (!p) throw new InputError(undefined, 'that series choice has expired; open the folder again', 'not-found');
    return this.o.jobs.run(opts.jobId, async (progress, signal) =>
      this.keepScan(p, await importSeries(p.scan, seriesUid, progress, this.o.decode, signal, opts.volume), opts.role),
    );
  }

  async recentFiles(): Promise<RecentFile[]> {
    const list = await this.o.recent.list();
    // Only entries that still exist on disk are offered.
    const exists = await Promise.all(
      list.map((r) =>
        stat(r.path).then(
          () => true,
          () => false,
        ),
      ),
    );
    return list.filter((_, i) => exists[i]);
  }

  async openRecent(id: string, opts: OpenOptions = {}): Promise<OpenResult> {
    const entry = await this.o.recent.get(id);
    if (!entry) throw new InputError(undefined, 'that recent file is no longer in the list', 'not-found');
    return this.openPath(entry.path, {
      ...opts,
      seriesInstanceUid: opts.seriesInstanceUid ?? entry.seriesInstanceUid,
      volume: opts.volume ?? entry.volume,
    });
  }

  private remember(kind: 'nifti' | 'dicom', path: string, name: string, v?: Volume) {
    const names = v?.source.volumes ?? [];
    const volume = names.length > 1 && v?.source.volumeIndex ? names[v.source.volumeIndex - 1] : undefined;
    return this.o.recent
      .add({ kind, path, name, seriesInstanceUid: v?.source.seriesInstanceUid, ...(volume !== undefined ? { volume } : {}) })
      .catch(() => undefined);
  }

  /**
   * A series that makes several volumes, opened without naming one: the picker offers each rather than the first
   * alone (decoding that first one is how their names are known). Null for a series that makes one.
   */
  private volumeChoice(p: Pending, volume: Volume): OpenResult | null {
    const names = volume.source.volumes ?? [];
    const series = p.scan.series.find((s) => s.uid === volume.source.seriesInstanceUid);
    if (names.length < 2 || !series) return null;
    return { kind: 'choose-series', pendingId: this.addPending(p), folder: p.name, series: [{ ...series.summary, volumes: names }] };
  }

  private addPending(p: Pending): string {
    const id = randomUUID();
    this.pending.set(id, p);
    while (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
    return id;
  }

  private volumeResult(volume: Volume, name: string, role: VolumeRole = 'image', scan?: DicomScan): OpenedVolume {
    const info = this.o.volumes.add(volume, name, role);
    if (!scan) return { kind: 'volume', volume: info };
    // A SEG beside the series (a study folder, a PACS retrieval) opens with it as a label overlay.
    const { maps, problems } = segsBesideSeries(scan, volume);
    return {
      kind: 'volume',
      volume: info,
      ...(maps.length ? { overlays: addSegVolumes(this.o.volumes, maps) } : {}),
      ...(problems.length ? { problems } : {}),
    };
  }

  private async segResult(scan: DicomScan): Promise<OpenedVolume> {
    const [first, ...rest] = await openSegsOnOpenVolumes(scan, this.o.volumes);
    return { kind: 'volume', volume: first, ...(rest.length ? { overlays: rest } : {}) };
  }

  /** A series' volume imported from a pending scan, put into the session. */
  private async keepScan(p: Pending, volume: Volume, role: VolumeRole | undefined): Promise<OpenedVolume> {
    // Uploaded files live on in the cache folder: point the volume there, so that exporting a SEG on it or
    // opening a SEG of it later can read the source files again.
    if (p.remember) volume.source.path = p.path;
    const name = displayName(p.name, volume);
    if (p.remember) await this.remember('dicom', p.path, name, volume);
    return this.volumeResult(volume, name, role ?? 'image', p.scan);
  }

  /** Uploaded bytes are kept in the data folder (by content hash) so that "recent files" can reopen them. */
  private async cacheUpload(files: FileBlob[]): Promise<string> {
    const hash = createHash('sha256');
    for (const f of files) hash.update(f.name).update('\0').update(f.data);
    const dir = join(this.o.dataDir, 'imports', hash.digest('hex').slice(0, 24));
    if (files.length === 1 && isNiftiName(files[0].name)) {
      const path = join(dir, safeName(files[0].name));
      await mkdir(dir, { recursive: true });
      await writeFile(path, files[0].data);
      return path;
    }
    for (const f of files) {
      const path = join(dir, safeRelative(f.name));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, f.data);
    }
    return dir;
  }
}

/** A DICOM folder's name says little ("In", "DICOM"): add the series number and description. */
function displayName(base: string, v: Volume): string {
  if (v.source.kind !== 'dicom') return base;
  const number = v.source.dicom?.seriesNumber;
  const label = [number !== undefined && number !== '' ? `#${number}` : '', v.description].filter(Boolean).join(' ');
  return label ? `${base} · ${label}` : base;
}

function safeName(name: string): string {
  return basename(name).replace(/[^A-Za-z0-9._-]/g, '_') || 'upload';
}

/** A dropped folder's relative path, kept inside the cache folder whatever the browser sent. */
function safeRelative(name: string): string {
  const parts = normalize(name.replace(/\\/g, '/'))
    .split('/')
    .filter((p) => p && p !== '.' && p !== '..')
    .map((p) => p.replace(/[^A-Za-z0-9._-]/g, '_'));
  return parts.length ? join(...parts) : 'file';
}

function topFolder(files: FileBlob[]): string {
  const first = files[0].name.replace(/\\/g, '/');
  return first.includes('/') ? first.split('/')[0] : 'dropped files';
}
