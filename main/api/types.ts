/**
 * The typed API: the only way a front end (renderer, CLI, tests) reaches the services.
 * Transports (Electron IPC in app/preload.ts, HTTP in main/host/) are adapters around the one
 * handler table in ./handlers.ts; they never add methods of their own.
 *
 * Only plain data crosses it: JSON values plus Uint8Array for bulk bytes.
 */
import type { FileBlob, UploadedFile } from '../common/file-blob.js';
import type { ProviderAvailability } from '../engine/runtime/provider-types.js';
import type { Task } from '../common/task.js';
import type { SeriesSummary } from '../imaging/dicom/series-summary.js';
import type { ApiEvent, JobDoneEvent, ProgressEvent } from '../jobs/job-events.js';
import type { OpenedVolume, OpenOptions, OpenResult, VolumeInfo, VolumeRole } from '../session/opened-volume.js';
import type { RecentFile } from '../settings/recent-file.js';
export type {
  FileBlob,
  UploadedFile,
  SeriesSummary,
  ApiEvent,
  JobDoneEvent,
  ProgressEvent,
  OpenedVolume,
  OpenOptions,
  OpenResult,
  VolumeInfo,
  VolumeRole,
  RecentFile,
};
import type { AddPairFromVolumes, ContextSetInfo, PairGridCheck, PairInfo, SetThumbnail, TrashedPair } from '../library/types.js';
import type { DroppedAttribute, ExportAvailability, ReportRequest, SegExport, SegmentSpec, SegProvenance, SrExport, StatsResult } from '../export/types.js';
import type { DicomNode, FindMatch, FindQuery, PacsConfig, StoreResult } from '../pacs/types.js';

export type { AddPairFromVolumes, ContextSetInfo, PairGridCheck, PairInfo, SetThumbnail, TrashedPair, TaskSpec, ScannerSpec } from '../library/types.js';
export type { Task } from '../common/task.js';
import type { ContextSetSuggestion, ModelInfo, RunTaskRequest, RunTaskResult, UpdatedLabelVolume, WorklistRequest, WorklistResult } from '../workflow/types.js';
export type {
  ContextSetSuggestion,
  LabelStat,
  ModelEvaluation,
  ModelInfo,
  RunTaskRequest,
  RunTaskResult,
  StructureRequest,
  WorklistRequest,
  WorklistResult,
  WorklistRow,
  UpdatedLabelVolume,
} from '../workflow/types.js';
export type {
  DroppedAttribute,
  ExportAvailability,
  SegExport,
  SrExport,
  SegProvenance,
  ReportRequest,
  StatsResult,
  SegmentSpec,
  DicomNode,
  FindMatch,
  FindQuery,
  PacsConfig,
  StoreResult,
};

export type HostMode = 'electron' | 'browser' | 'headless';

export interface AppInfo {
  name: string;
  version: string;
  mode: HostMode;
  /** Whether the host can show a native file dialog (Electron) or the renderer must use a file input. */
  nativeDialogs: boolean;
  dataDir: string;
  platform: string;
  /** Execution providers of this machine's ONNX Runtime, in auto's order, with whether each can be tried and why. */
  providers: ProviderAvailability[];
}

/** Whether two open volumes can be stored as a library pair, checked before adding (same rules as the library). */

export interface WorkstationApi {
  appInfo(): Promise<AppInfo>;
  /** Opens the bundled Colin27 T1 and its atlas overlay. */
  openSample(): Promise<VolumeInfo[]>;
  /** Native dialog where the host has one; resolves null when the user cancels. */
  openWithDialog(options?: OpenOptions): Promise<OpenResult | null>;
  /**
   * Bytes from drag-and-drop or a file input: one NIfTI file, the files of a DICOM folder, or DICOM-SEG
   * files, which open as label volumes on the open image of the series they reference.
   */
  openFiles(files: FileBlob[], options?: OpenOptions): Promise<OpenResult>;
  /** Completes an open that asked the user to pick a series (with the SEGs on that series as overlays). */
  chooseSeries(pendingId: string, seriesInstanceUid: string, options?: OpenOptions): Promise<OpenedVolume>;
  listVolumes(): Promise<VolumeInfo[]>;
  /** The volume as NIfTI-1 bytes, the format the viewer loads. */
  volumeNifti(id: string): Promise<Uint8Array>;
  closeVolume(id: string): Promise<void>;
  recentFiles(): Promise<RecentFile[]>;
  openRecent(id: string, options?: OpenOptions): Promise<OpenResult>;
  cancelJob(jobId: string): Promise<boolean>;
  /** The renderer reports its first drawn frame; the host logs the time from launch. */
  notifyFirstFrame(millisecondsSinceLoad: number): Promise<void>;

  // Context library (main/library): sets of image/label pairs per task and scanner.
  /** Every context set with its task, scanner and pairs in order (trashed pairs excluded). */
  listContextSets(): Promise<ContextSetInfo[]>;
  /** Stores two open volumes as a pair of a set (created on first use); refused when the label is on another grid. */
  addLibraryPair(request: AddPairFromVolumes): Promise<PairInfo>;
  /** Moves a pair to the trash. */
  removeLibraryPair(pairId: number): Promise<void>;
  restoreLibraryPair(pairId: number): Promise<void>;
  libraryTrash(): Promise<TrashedPair[]>;
  /** Deletes trashed pairs for good, and the volume files nothing else uses. */
  emptyLibraryTrash(): Promise<{ pairs: number; volumes: number; bytes: number }>;
  /** New order of a set's pairs: every pair id of the set exactly once. */
  reorderLibraryPairs(setName: string, pairIds: number[]): Promise<ContextSetInfo>;
  renameContextSet(from: string, to: string): Promise<ContextSetInfo>;
  /** Mid-slice preview of a set's first pair (or the given pair) as raw 2-D arrays. */
  contextSetThumbnail(setName: string, pairId?: number): Promise<SetThumbnail>;
  /** Header check of two open volumes as a would-be pair (grid, single frame), so the UI can warn before adding. */
  checkLibraryPair(imageVolumeId: string, labelVolumeId: string): Promise<PairGridCheck>;

  // One-click workflow (main/workflow): run a model with a stored context set on an open target.
  /** Model packages found in $NEUROVERSE_MODELS, <dataDir>/models and the bundled resources/models. */
  listModels(): Promise<ModelInfo[]>;
  /** Installs a checkpoint file (.ckpt from the official release, or .safetensors) as a model package. */
  importModel(file: FileBlob, options?: { jobId?: string; precision?: 'fp32' | 'int8' }): Promise<ModelInfo>;
  /** The default set for an open target: scanner match on its DICOM header, else the first set of the task kind. */
  suggestContextSet(targetVolumeId: string, task?: Task): Promise<ContextSetSuggestion>;
  /** Runs a task as a job (progress per mini-context, cancel via cancelJob); the result opens as a new volume. */
  runTask(request: RunTaskRequest): Promise<RunTaskResult>;
  /** One run per open scan, one after the other, with the same settings: a worklist (the CLI's batch, in the app). */
  runWorklist(request: WorklistRequest): Promise<WorklistResult>;
  /** A corrected label map (NIfTI bytes on the same grid) for an open label volume; opens it as a new label volume. */
  updateLabelVolume(volumeId: string, nifti: Uint8Array, name?: string): Promise<UpdatedLabelVolume>;
  /** Saves the run's target + a corrected result as a new pair of the run's set (or setName), in the set's label values. */
  addCorrectedPair(correctedVolumeId: string, setName?: string): Promise<PairInfo>;

  // Export and PACS (main/export, main/pacs). Exports return bytes; the host saves them where the user says.
  /** Whether DICOM-SEG can be offered for a target, and if not why (a NIfTI target has no source UIDs). */
  exportAvailability(targetId: string): Promise<ExportAvailability>;
  /** A label volume as NIfTI-1 on the target's grid: intent label, uint8 where labels fit, the target's sform/qform. */
  exportMaskNifti(targetId: string, maskId: string): Promise<Uint8Array>;
  /**
   * Binary DICOM-SEG of a label volume on its DICOM target, one segment per label (named by `segments`): the
   * file, how it says it was made, and which copied source attributes it left out for invalid values.
   */
  exportSeg(targetId: string, maskId: string, segments?: SegmentSpec[]): Promise<SegExport>;
  /**
   * DICOM Structured Report (TID 1500) of each segment's volume on the DICOM target; it references the SEG exported
   * from the same unchanged mask in this session.
   */
  exportSr(targetId: string, maskId: string, segments?: SegmentSpec[]): Promise<SrExport>;
  /** Voxel count and mL per label, with the same table as CSV. */
  volumeStats(maskId: string, names?: Record<number, string>): Promise<StatsResult>;
  /** Self-contained HTML run report: key slices, structure volumes, model and context set. */
  runReport(targetId: string, maskId: string, request: ReportRequest): Promise<Uint8Array>;
  pacsConfig(): Promise<PacsConfig>;
  /** A host other than this computer needs `confirmRemote` (the user agreed that scans may go there). */
  pacsSaveNode(node: DicomNode, options?: { confirmRemote?: boolean }): Promise<PacsConfig>;
  pacsRemoveNode(name: string): Promise<PacsConfig>;
  pacsSetLocalAeTitle(aeTitle: string): Promise<PacsConfig>;
  /** C-ECHO; rejects with a one-line InputError (unreachable, association rejected). */
  pacsEcho(nodeName: string): Promise<void>;
  pacsFind(nodeName: string, query: FindQuery): Promise<FindMatch[]>;
  /** C-STORE of a volume's source series, plus the SEG of `seg.maskId` on it when given. */
  pacsSend(nodeName: string, volumeId: string, seg?: { maskId: string; segments?: SegmentSpec[] }): Promise<StoreResult>;
  /** C-GET of a study (or series) into the data folder, then opened like a local folder. */
  pacsRetrieve(nodeName: string, studyInstanceUid: string, seriesInstanceUid?: string, options?: OpenOptions): Promise<OpenResult>;
}

export type ApiMethod = keyof WorkstationApi;

/** A file as a client sends it: its bytes, or (browser host) the id of its upload, which the host swaps for them. */
export type SentFile = FileBlob | UploadedFile;

type ClientApi = Omit<WorkstationApi, 'openFiles' | 'importModel'> & {
  openFiles(files: SentFile[], options?: OpenOptions): ReturnType<WorkstationApi['openFiles']>;
  importModel(file: SentFile, options?: Parameters<WorkstationApi['importModel']>[1]): ReturnType<WorkstationApi['importModel']>;
};

/** Client side of a transport: the API (files as bytes or uploads) plus a way to hear events. */
export interface WorkstationClient extends ClientApi {
  onEvent(listener: (event: ApiEvent) => void): () => void;
}
