import { join } from 'node:path';
import { encodeNifti } from '../imaging/index.js';
import { Jobs } from '../jobs/jobs.js';
import { lazyWorkerSeriesDecoder } from '../compute/dicom-decode.js';
import { LibraryService, libraryDirFor } from '../library/library-service.js';
import { starterSource } from '../library/starter.js';
import { VolumeOpener } from '../session/volume-opener.js';
import { VolumeStore } from '../session/volume-store.js';
import { WorkflowService } from '../workflow/workflow-service.js';
import { providerAvailability } from '../engine/index.js';
import { defaultDataDir, resourcesDir, sampleFiles } from '../settings/paths.js';
import { RecentFiles } from '../settings/recent-files.js';
import { InputError } from './errors.js';
import { ExportService } from '../export/export-service.js';
import { checkPairGrid } from '../library/pair-grid-check.js';
import { PacsService } from '../pacs/pacs-service.js';
import type { IcvAtlasSet } from '../pipeline/icv.js';
import type { AppInfo, ApiEvent, HostMode, OpenOptions, OpenResult, VolumeInfo, WorkstationApi } from './types.js';

export interface WorkstationOptions {
  mode: HostMode;
  version: string;
  dataDir?: string;
  /** Context library folder; default $NEUROVERSE_LIBRARY, else <dataDir>/library. */
  libraryDir?: string;
  resources?: string;
  /** false: do not install the bundled starter context set into an empty library (tests of an empty library). */
  starter?: boolean;
  /** Called when the renderer has drawn its first frame (the launcher prints the time from start). */
  onFirstFrame?: (millisecondsSinceLoad: number) => void;
  /** A native "open" dialog, supplied by the Electron shell; absent in the browser host and the CLI. */
  pickPath?: () => Promise<string | null>;
  /** Run the model on the serving thread instead of a compute worker (benchmarks of the difference only). */
  modelInProcess?: boolean;
  /** Atlases (a T1 head and its intracranial mask) for reports' and worklists' ICV; default the bundled starter heads. */
  icvAtlases?: IcvAtlasSet;
}

/** The services behind the API, also used directly by the CLI and the launcher (path-based opening). */
export interface Workstation {
  api: WorkstationApi;
  onEvent(listener: (e: ApiEvent) => void): () => void;
  /** Opens a file or folder by path. Not part of the renderer's API: a renderer never names paths. */
  openPath(path: string, options?: OpenOptions): Promise<OpenResult>;
  volumes: VolumeStore;
  /** The data folder (the browser host keeps uploads in flight under it). */
  dataDir: string;
}

export function createWorkstation(options: WorkstationOptions): Workstation {
  const dataDir = options.dataDir ?? defaultDataDir();
  const resources = options.resources ?? resourcesDir();
  const jobs = new Jobs();
  const volumes = new VolumeStore();
  // DICOM pixels are assembled in a compute worker: a few hundred slices (or dcm2niix) would hold this thread.
  const decode = lazyWorkerSeriesDecoder();
  const opener = new VolumeOpener({ volumes, jobs, recent: new RecentFiles(join(dataDir, 'recent-files.json')), dataDir, decode });
  const openPath = (path: string, opts?: OpenOptions) => opener.openPath(path, opts);
  // The bundled starter set goes into the library on its first open, so a fresh install can run at once.
  const library = new LibraryService(options.libraryDir ?? libraryDirFor(dataDir), volumes, options.starter === false ? undefined : starterSource(resources));
  // Without the starter (tests of an empty library, sites that ship their own sets) there are no ICV atlases either.
  const workflow = new WorkflowService({
    dataDir,
    resources,
    volumes,
    library,
    modelInProcess: options.modelInProcess,
    icvAtlases: options.icvAtlases ?? (options.starter === false ? { atlases: [] } : undefined),
  });
  const exports = new ExportService(volumes, {
    provenance: (maskId) => workflow.provenanceOf(maskId),
    audit: async (action, detail) => (await library.library()).audit(action, detail),
  });
  const pacs = new PacsService(dataDir, volumes, exports);

  const api: WorkstationApi = {
    async appInfo(): Promise<AppInfo> {
      return {
        name: 'Neuroverse Workstation',
        version: options.version,
        mode: options.mode,
        nativeDialogs: Boolean(options.pickPath),
        dataDir,
        platform: process.platform,
        providers: providerAvailability(),
      };
    },

    // The one way to open the bundled sample: the renderer's menu, the Electron shell and the launcher's
    // start-up screen all call this.
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

    openFiles: (files, opts) => opener.openFiles(files, opts),
    chooseSeries: (pendingId, seriesUid, opts) => opener.chooseSeries(pendingId, seriesUid, opts),

    async listVolumes() {
      return volumes.list();
    },

    async volumeNifti(id) {
      return encodeNifti(volumes.get(id));
    },

    async closeVolume(id) {
      volumes.remove(id);
    },

    recentFiles: () => opener.recentFiles(),
    openRecent: (id, opts) => opener.openRecent(id, opts),

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
    importModel: (file, opts) => jobs.run(opts?.jobId, (progress) => workflow.importModel(file, progress, opts?.precision ?? 'fp32')),
    suggestContextSet: (targetVolumeId, task) => workflow.suggestContextSet(targetVolumeId, task),
    runTask: (request) => jobs.run(request?.jobId, (progress, signal) => workflow.runTask(request, progress, signal)),
    runWorklist: (request) => jobs.run(request?.jobId, (progress, signal) => workflow.runWorklist(request, progress, signal)),
    updateLabelVolume: async (volumeId, nifti, name) => workflow.updateLabelVolume(volumeId, nifti, name),
    addCorrectedPair: (correctedVolumeId, setName) => workflow.addCorrectedPair(correctedVolumeId, setName),

    exportAvailability: async (targetId) => exports.availability(targetId),
    exportMaskNifti: async (targetId, maskId) => exports.maskNifti(targetId, maskId),
    exportSeg: (targetId, maskId, segments) => exports.seg(targetId, maskId, segments),
    exportSr: (targetId, maskId, segments) => exports.sr(targetId, maskId, segments),
    volumeStats: async (maskId, names) => exports.stats(maskId, names),
    runReport: (targetId, maskId, request) => workflow.report(targetId, maskId, request),
    pacsConfig: () => pacs.config(),
    pacsSaveNode: (node, options) => pacs.saveNode(node, options),
    pacsRemoveNode: (name) => pacs.removeNode(name),
    pacsSetLocalAeTitle: (aeTitle) => pacs.setLocalAeTitle(aeTitle),
    pacsEcho: (nodeName) => pacs.echo(nodeName),
    pacsFind: (nodeName, query) => pacs.find(nodeName, query),
    pacsSend: (nodeName, volumeId, seg) => pacs.send(nodeName, volumeId, seg),
    pacsRetrieve: async (nodeName, study, series, opts) => openPath(await pacs.retrieve(nodeName, study, series), opts),
  };

  return { api, onEvent: (l) => jobs.onEvent(l), openPath, volumes, dataDir };
}
