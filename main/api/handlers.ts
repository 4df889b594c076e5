import { createHash, randomUUID } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, normalize } from 'node:path';
import { encodeNifti, isNiftiName, openImagePath, parseNiftiAsync, scanDicomFiles, importSeries, segsBesideSeries, seriesSummaries } from '../imaging/index.js';
import type { DicomScan } from '../imaging/index.js';
import type { Volume } from '../imaging/volume.js';
import { Jobs, type ProgressFn } from '../jobs/jobs.js';
import { LibraryService, libraryDirFor } from '../library/service.js';
import { VolumeStore } from '../session/volume-store.js';
import { addSegVolumes, openSegsOnOpenVolumes } from '../session/seg-overlays.js';
import { WorkflowService } from '../workflow/service.js';
import { defaultDataDir, resourcesDir, sampleFiles } from '../settings/paths.js';
import { RecentFiles } from '../settings/recent-files.js';
import { InputError } from './errors.js';
import { ExportService } from '../export/service.js';
import { checkPairGrid } from './pair-check.js';
import { PacsService } from '../pacs/service.js';
import { lazyWorkerSeriesDecoder } from '../compute/dicom-decode.js';
import type {
  AppInfo,
  ApiEvent,
  FileBlob,
  HostMode,
  OpenedVolume,
  OpenOptions,
  OpenResult,
  RecentFile,
  VolumeInfo,
  VolumeRole,
  WorkstationApi,
} from './types.js';

export interface WorkstationOptions {
  mode: HostMode;
  version: string;
  dataDir?: string;
  /** Context library folder; default $NEUROVERSE_LIBRARY, else <dataDir>/library. */
  libraryDir?: string;
  resources?: string;
  /** Called when the renderer has drawn its first frame (the launcher prints the time from start). */
  onFirstFrame?: (millisecondsSinceLoad: number) => void;
  /** A native "open" dialog, supplied by the Electron shell; absent in the browser host and the CLI. */
  pickPath?: () => Promise<string | null>;
  /** Run the model on the serving thread instead of a compute worker (benchmarks of the difference only). */
  modelInProcess?: boolean;
}

/** The services behind the API, also used directly by the CLI and the launcher (path-based opening). */
export interface Workstation {
  api: WorkstationApi;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  /** Opens a file or folder by path. Not part of the renderer's API: a renderer never names paths. */
  openPath(path: string, options?: OpenOptions): Promise<OpenResult>;
  volumes: VolumeStore;
}

interface Pending {
  scan: DicomScan;
  /** Where the files live on disk (folder or cached upload), for the recent-files entry. */
  path: string;
  name: string;
  /** False for files opened only to be stored elsewhere (a library pair): no recent-files entry. */
  remember: boolean;
}

const MAX_PENDING = 4;

export function createWorkstation(options: WorkstationOptions): Workstation {
  const dataDir = options.dataDir ?? defaultDataDir();
  const resources = options.resources ?? resourcesDir();
  const jobs = new Jobs();
  const volumes = new VolumeStore();
  const recent = new RecentFiles(join(dataDir, 'recent-files.json'));
  const library = new LibraryService(options.libraryDir ?? libraryDirFor(dataDir), volumes);
  const workflow = new WorkflowService({ dataDir, resources, volumes, library, modelInProcess: options.modelInProcess });
  const pending = new Map<string, Pending>();
  const exports = new ExportService(volumes, {
    provenance: (maskId) => workflow.provenanceOf(maskId),
    audit: async (action, detail) => (await library.library()).audit(action, detail),
  });
  const pacs = new PacsService(dataDir, volumes, exports);
  // DICOM pixels are assembled in a compute worker: a few hundred slices (or dcm2niix) would hold this thread.
  const decode = lazyWorkerSeriesDecoder();

  const remember = (kind: 'nifti' | 'dicom', path: string, name: string, seriesInstanceUid?: string) =>
    recent.add({ kind, path, name, seriesInstanceUid }).catch(() => undefined);

  function addPending(p: Pending): string {
    const id = randomUUID();
    pending.set(id, p);
    while (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value!);
    return id;
  }

  function volumeResult(volume: Volume, name: string, role: VolumeRole = 'image', scan?: DicomScan): OpenedVolume {
    const info = volumes.add(volume, name, role);
    if (!scan) return { kind: 'volume', volume: info };
    // A SEG beside the series (a study folder, a PACS retrieval) opens with it as a label overlay.
    const { maps, problems } = segsBesideSeries(scan, volume);
    return { kind: 'volume', volume: info, ...(maps.length ? { overlays: addSegVolumes(volumes, maps) } : {}), ...(problems.length ? { problems } : {}) };
  }

  async function segResult(scan: DicomScan): Promise<OpenedVolume> {
    const [first, ...rest] = await openSegsOnOpenVolumes(scan, volumes);
    return { kind: 'volume', volume: first, ...(rest.length ? { overlays: rest } : {}) };
  }

  async function openPath(path: string, opts: OpenOptions = {}): Promise<OpenResult> {
    return jobs.run(opts.jobId, async (progress, signal) => {
      const opened = await openImagePath(path, opts.seriesInstanceUid, progress, signal, decode);
      const name = basename(path.replace(/[\\/]+$/, ''));
      if (opened.kind === 'segs') return segResult(opened.scan);
      if (opened.kind === 'scan') {
        const pendingId = addPending({ scan: opened.scan, path, name, remember: opts.remember !== false });
        return { kind: 'choose-series', pendingId, folder: name, series: seriesSummaries(opened.scan) };
      }
      const kind = opened.volume.source.kind === 'dicom' ? 'dicom' : 'nifti';
      const shown = displayName(name, opened.volume);
      if (opts.remember !== false) await remember(kind, path, shown, opened.volume.source.seriesInstanceUid);
      return volumeResult(opened.volume, shown, opts.role, opened.scan);
    });
  }

  /** Uploaded bytes are kept in the data folder (by content hash) so that "recent files" can reopen them. */
  async function cacheUpload(files: FileBlob[]): Promise<string> {
    const hash = createHash('sha256');
    for (const f of files) hash.update(f.name).update('\0').update(f.data);
    const dir = join(dataDir, 'imports', hash.digest('hex').slice(0, 24));
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

  async function importScan(p: Pending, seriesUid: string | undefined, role: VolumeRole | undefined, progress: ProgressFn, signal: AbortSignal): Promise<OpenedVolume> {
    const volume = await importSeries(p.scan, seriesUid, progress, decode, signal);
    // Uploaded files live on in the cache folder: point the volume there, so that exporting a SEG on it or
    // opening a SEG of it later can read the source files again.
    if (p.remember) volume.source.path = p.path;
    const name = displayName(p.name, volume);
    if (p.remember) await remember('dicom', p.path, name, volume.source.seriesInstanceUid);
    return volumeResult(volume, name, role ?? 'image', p.scan);
  }

  const api: WorkstationApi = {
    async appInfo(): Promise<AppInfo> {
      return {
        name: 'Neuroverse Workstation',
        version: options.version,
        mode: options.mode,
        nativeDialogs: Boolean(options.pickPath),
        dataDir,
        platform: process.platform,
      };
    },

    async openSample() {
      const sample = sampleFiles(resources);
      const t1 = await openPath(sample.t1, { role: 'image' });
      const labels = await openPath(sample.labels, { role: 'label' });
      return [t1, labels].map((r) => (r as { volume: VolumeInfo }).volume);
    },

    async openWithDialog(opts) {
      if (!options.pickPath) throw new InputError(undefined, 'this host has no native file dialog; use the file picker', 'unsupported');
      const path = await options.pickPath();
      return path ? openPath(path, opts) : null;
    },

    async openFiles(files, opts = {}) {
      if (files.length === 0) throw new InputError(undefined, 'no files were given');
      // A copy is cached only for the recent-files list; files opened with remember: false leave no trace.
      const keep = opts.remember !== false;
      return jobs.run(opts.jobId, async (progress, signal) => {
        const label = files.length === 1 ? files[0].name : `${topFolder(files)} (${files.length} files)`;
        if (files.length === 1 && isNiftiName(files[0].name)) {
          progress('read', null, `Reading ${files[0].name}`);
          const volume = await parseNiftiAsync(files[0].data, files[0].name);
          if (keep) await remember('nifti', await cacheUpload(files), files[0].name);
          return volumeResult(volume, files[0].name, opts.role);
        }
        progress('scan', null, `Scanning ${files.length} files`);
        const scan = await scanDicomFiles(files, label, progress);
        if (scan.series.length === 0) return segResult(scan);
        const path = keep ? await cacheUpload(files) : label;
        const p: Pending = { scan, path, name: topFolder(files), remember: keep };
        if (scan.series.length > 1 && !opts.seriesInstanceUid) {
          return { kind: 'choose-series', pendingId: addPending(p), folder: p.name, series: seriesSummaries(scan) };
        }
        return importScan(p, opts.seriesInstanceUid, opts.role, progress, signal);
      });
    },

    async chooseSeries(pendingId, seriesUid, opts = {}) {
      const p = pending.get(pendingId);
      if (!p) throw new InputError(undefined, 'that series choice has expired; open the folder again', 'not-found');
      return jobs.run(opts.jobId, (progress, signal) => importScan(p, seriesUid, opts.role, progress, signal));
    },

    async listVolumes() {
      return volumes.list();
    },

    async volumeNifti(id) {
      return encodeNifti(volumes.get(id));
    },

    async closeVolume(id) {
      volumes.remove(id);
    },

    async recentFiles(): Promise<RecentFile[]> {
      const list = await recent.list();
      // Only entries that still exist on disk are offered.
      const exists = await Promise.all(list.map((r) => stat(r.path).then(() => true, () => false)));
      return list.filter((_, i) => exists[i]);
    },

    async openRecent(id, opts = {}) {
      const entry = await recent.get(id);
      if (!entry) throw new InputError(undefined, 'that recent file is no longer in the list', 'not-found');
      return openPath(entry.path, { ...opts, seriesInstanceUid: opts.seriesInstanceUid ?? entry.seriesInstanceUid });
    },

    async cancelJob(jobId) {
      return jobs.cancel(jobId);
    },

    async notifyFirstFrame(ms) {
      options.onFirstFrame?.(Number(ms));
    },

    listContextSets: () => library.listContextSets(),
    addLibraryPair: (request) => library.addPair(request),
    removeLibraryPair: (pairId) => library.removePair(pairId),
    restoreLibraryPair: (pairId) => library.restorePair(pairId),
    libraryTrash: () => library.listTrash(),
    emptyLibraryTrash: () => library.emptyTrash(),
    reorderLibraryPairs: (setName, pairIds) => library.reorderPairs(setName, pairIds),
    renameContextSet: (from, to) => library.renameSet(from, to),
    contextSetThumbnail: (setName, pairId) => library.thumbnail(setName, pairId),
    checkLibraryPair: async (imageVolumeId, labelVolumeId) => checkPairGrid(volumes, imageVolumeId, labelVolumeId),

    listModels: () => workflow.listModels(),
    importModel: (file, opts) => jobs.run(opts?.jobId, (progress) => workflow.importModel(file, progress)),
    suggestContextSet: (targetVolumeId, taskKind) => workflow.suggestContextSet(targetVolumeId, taskKind),
    runTask: (request) => jobs.run(request?.jobId, (progress, signal) => workflow.runTask(request, progress, signal)),
    updateLabelVolume: async (volumeId, nifti, name) => workflow.updateLabelVolume(volumeId, nifti, name),
    addCorrectedPair: (correctedVolumeId, setName) => workflow.addCorrectedPair(correctedVolumeId, setName),

    exportAvailability: async (targetId) => exports.availability(targetId),
    exportMaskNifti: async (targetId, maskId) => exports.maskNifti(targetId, maskId),
    exportSeg: (targetId, maskId, segments) => exports.seg(targetId, maskId, segments),
    volumeStats: async (maskId, names) => exports.stats(maskId, names),
    runReport: async (targetId, maskId, request) => exports.report(targetId, maskId, request),
    pacsConfig: () => pacs.config(),
    pacsSaveNode: (node, options) => pacs.saveNode(node, options),
    pacsRemoveNode: (name) => pacs.removeNode(name),
    pacsSetLocalAeTitle: (aeTitle) => pacs.setLocalAeTitle(aeTitle),
    pacsEcho: (nodeName) => pacs.echo(nodeName),
    pacsFind: (nodeName, query) => pacs.find(nodeName, query),
    pacsSend: (nodeName, volumeId, seg) => pacs.send(nodeName, volumeId, seg),
    pacsRetrieve: async (nodeName, study, series, opts) => openPath(await pacs.retrieve(nodeName, study, series), opts),
  };

  return { api, onEvent: (l) => jobs.onEvent(l), openPath, volumes };
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
