import { CancelledError } from '../common/errors.js';
import type { FileBlob } from '../common/file-blob.js';
import type { Task } from '../common/task.js';
import type { VolumeStore } from '../session/volume-store.js';
import { InferenceEngine, parseDevice, parsePrecision } from '../engine/index.js';
import type { DeviceRequest, PrecisionRequest } from '../engine/index.js';
import type { ComputePool } from '../compute/pool.js';
import { inProcessRunner, workerRunner } from '../pipeline/model-runner.js';
import type { ModelRunner } from '../pipeline/model-runner.js';
import { RegistrationCache, registrationPool, type RegistrationJobs } from '../registration/index.js';
import { registrationCacheDir } from '../settings/paths.js';
import type { ProgressFn } from '../jobs/jobs.js';
import type { SegProvenance } from '../export/types.js';
import type { LibraryService } from '../library/library-service.js';
import type { PairInfo } from '../library/types.js';
import { addCorrectedPair, updateLabelVolume, type CorrectionServices } from './corrections.js';
import { importModel } from './import-model.js';
import { findModels, modelPlaces, type FoundModel } from './models.js';
import { orchestrateRun, suggestContextSetFor } from './orchestrate-run.js';
import { progressText } from './progress-text.js';
import type { ResultOrigin } from './result-origin.js';
import { runTaskResult } from './run-task-result.js';
import { starterIcvAtlases, starterSetName } from '../library/starter.js';
import type { ReportRequest } from '../export/types.js';
import type { IcvAtlasSet } from '../pipeline/icv.js';
import { resultReport, resultVolumetry, type ResultReportServices } from './result-report.js';
import { restorationPool } from '../restoration/pool.js';
import type { RestorationJobs } from '../restoration/runner.js';
import type { ContextSetSuggestion, ModelInfo, RunTaskRequest, RunTaskResult, UpdatedLabelVolume, WorklistRequest, WorklistResult } from './types.js';
import { runWorklist } from './worklist.js';
import { registeredImages } from './batch.js';

export interface WorkflowOptions {
  dataDir: string;
  resources: string;
  volumes: VolumeStore;
  library: LibraryService;
  env?: NodeJS.ProcessEnv;
  /** The model on this thread instead of a compute worker (scripts/bench/host-latency.ts measures the difference). */
  modelInProcess?: boolean;
  /** Atlases for the intracranial volume of reports and worklists (default: the bundled starter heads). */
  icvAtlases?: IcvAtlasSet;
}

/**
 * The one-click workflow behind the API: pick a model and a context set, run every requested structure
 * on the open target with one shared target encoding, put the (multi-label) result into the session,
 * and record the run in the library. The API handlers are one-line calls into this class. It holds what lives
 * between calls (the open model, the workers, the run queue, where each result came from); the worklist, model
 * import and corrections are their own modules (worklist.ts, import-model.ts, corrections.ts), handed those.
 */
export class WorkflowService {
  /**
   * One model kept open between clicks (creating ORT sessions costs more than a small run), in a compute
   * worker so that a run never stalls the thread that answers the UI.
   */
  private engine: { key: string; engine: ModelRunner } | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Where each result (and corrected copy) came from: its labels' names and the set's label values. */
  private readonly results = new Map<string, ResultOrigin>();
  private computePool: ComputePool<RegistrationJobs> | null = null;
  private restorationPool: ComputePool<RestorationJobs> | null = null;

  constructor(private readonly o: WorkflowOptions) {}

  async listModels(): Promise<ModelInfo[]> {
    return (await this.models()).map(({ dir: _dir, ...info }) => info);
  }

  importModel(file: FileBlob, progress?: ProgressFn, precision: 'fp32' | 'int8' = 'fp32'): Promise<ModelInfo> {
    return importModel({ dataDir: this.o.dataDir, models: () => this.models() }, file, progress, precision);
  }

  private models(): Promise<FoundModel[]> {
    return findModels(modelPlaces(this.o.dataDir, this.o.resources, this.o.env ?? process.env));
  }

  /**
   * Default set for a target: the one whose scanner's manufacturer and model match the target's DICOM
   * header (manufacturer alone as a weaker match), else the first set (by name) of the wanted task kind.
   */
  /** Without a task, segmentation sets are preferred and generation sets considered when there is none. */
  async suggestContextSet(targetVolumeId: string, task?: Task): Promise<ContextSetSuggestion> {
    return suggestContextSetFor(await this.o.library.library(), this.o.volumes.get(targetVolumeId), task, starterSetName(this.o.resources));
  }

  /**
   * Runs one at a time: they share the open engine (a second model or device would release it under a
   * running job), and two runs on two CPU cores would only slow each other down.
   */
  runTask(req: RunTaskRequest, progress: ProgressFn, signal: AbortSignal): Promise<RunTaskResult> {
    return this.queued(() => {
      if (signal.aborted) throw new CancelledError('run');
      return this.runNow(req, progress, signal);
    });
  }

  private async runNow(req: RunTaskRequest, progress: ProgressFn, signal: AbortSignal): Promise<RunTaskResult> {
    const target = this.o.volumes.get(req.targetVolumeId);
    const targetInfo = this.o.volumes.info(req.targetVolumeId);
    const outcome = await orchestrateRun(
      {
        target,
        targetName: targetInfo.name,
        context: req.contextSet ? { kind: 'sets', names: [req.contextSet], pairIds: req.pairIds } : { kind: 'suggested' },
        structures: req.structures,
        method: req.method,
        align: req.align,
        // The Run panel always sends its selected model; fusion and restoration use none, so they are not given one.
        model: req.model !== undefined && (req.method === undefined || req.method === 'model') ? { id: req.model } : undefined,
        device: parseDevice(req.device ?? 'auto'),
        precision: parsePrecision(req.precision ?? 'auto'),
        miniContext: req.miniContext ?? 'auto',
        autoContext: req.autoContext,
        record: true,
      },
      {
        library: () => this.o.library.library(),
        models: () => this.models(),
        openModel: (dir, device, precision) => this.openEngine(dir, device, precision),
        pool: () => this.pool(),
        starterSet: starterSetName(this.o.resources),
        restorationPool: () => (this.restorationPool ??= restorationPool()),
        cache: new RegistrationCache(registrationCacheDir(this.o.dataDir)),
        // progress() throws when the job was cancelled; the pipeline's signal stops the workers too.
        onProgress: (p) => progress(p.stage, p.fraction, progressText(p)),
        signal,
      },
    );
    const names = outcome.structures.map((s) => s.name);
    const setName = outcome.contextName;
    const displayName = `${outcome.task === 'segment' ? names.join(' + ') : outcome.sets[0].task.name} · ${setName}`;
    const info = this.o.volumes.add(outcome.result, displayName, outcome.task === 'segment' ? 'label' : 'image');
    // One pair voted alone leaves nothing in doubt: no map to show.
    const doubt = outcome.doubt && outcome.doubt.data.some((x) => x > 0) ? outcome.doubt : null;
    const uncertainty = doubt
      ? {
          volumeId: this.o.volumes.add(doubt, `doubt · ${displayName}`, 'probability').id,
          structures: outcome.structures.map((s) => ({ name: s.name, doubtfulMl: s.doubtfulMl ?? 0 })),
        }
      : null;
    this.results.set(info.id, {
      setName,
      targetVolumeId: req.targetVolumeId,
      structures: outcome.structures.map((s) => ({ name: s.name, labels: s.labels })),
      provenance: outcome.provenance,
      run: {
        method: outcome.method,
        align: outcome.align,
        model: outcome.model?.dir ?? null,
        contextSize: outcome.structures[0]?.contextSize,
        uncertainMl: outcome.structures.reduce((n, s) => n + (s.doubtfulMl ?? 0), 0) || null,
        qc: outcome.qc.map((w) => ({ kind: w.kind, message: w.message })),
        lesion: outcome.structures.some((s) => s.lesion),
      },
      registeredImages: registeredImages(outcome),
    });
    return runTaskResult(outcome, info.id, uncertainty);
  }

  runWorklist(req: WorklistRequest, progress: ProgressFn, signal: AbortSignal): Promise<WorklistResult> {
    return runWorklist(req, progress, signal, {
      volumes: this.o.volumes,
      runTask: (r, p, s) => this.runTask(r, p, s),
      structuresOf: (id) => this.results.get(id)?.structures ?? [],
      // In the run queue: its ICV registrations share the workers with the runs.
      volumetryOf: (targetId, maskId) => this.queued(() => resultVolumetry(this.reporting(signal), targetId, maskId, { icv: req.icv })),
    });
  }

  /** The one-page report of an open result (workflow/result-report.ts); its ICV registrations wait for the run queue. */
  report(targetId: string, maskId: string, request: ReportRequest): Promise<Uint8Array> {
    return this.queued(() => resultReport(this.reporting(), targetId, maskId, request ?? {}));
  }

  private reporting(signal?: AbortSignal): ResultReportServices {
    return {
      volumes: this.o.volumes,
      origins: this.results,
      icvAtlases: this.o.icvAtlases ?? starterIcvAtlases(this.o.resources, this.o.env ?? process.env),
      pool: () => this.pool(),
      cache: new RegistrationCache(registrationCacheDir(this.o.dataDir)),
      signal,
    };
  }

  /** Work that uses the registration workers, after the runs already queued. */
  private queued<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(work);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  updateLabelVolume(volumeId: string, nifti: Uint8Array, name?: string): UpdatedLabelVolume {
    return updateLabelVolume(this.corrections(), volumeId, nifti, name);
  }

  addCorrectedPair(correctedVolumeId: string, setName?: string): Promise<PairInfo> {
    return addCorrectedPair(this.corrections(), correctedVolumeId, setName);
  }

  private corrections(): CorrectionServices {
    return { volumes: this.o.volumes, library: this.o.library, origins: this.results };
  }

  /** Registration workers, started on the first aligned run; idle workers do not keep the app alive. */
  private pool(): ComputePool<RegistrationJobs> {
    this.computePool ??= registrationPool();
    return this.computePool;
  }

  private async openEngine(dir: string, device: DeviceRequest, precision: PrecisionRequest): Promise<ModelRunner> {
    const key = `${dir}\0${device}\0${precision}`;
    if (this.engine?.key === key) return this.engine.engine;
    await this.close();
    const engine = this.o.modelInProcess ? inProcessRunner(await InferenceEngine.open(dir, device, precision)) : await workerRunner(dir, device, precision);
    this.engine = { key, engine };
    return engine;
  }

  /** How an open result (or its corrected copy) was made; null for volumes no run of this session made. */
  provenanceOf(volumeId: string): SegProvenance | null {
    const p = this.results.get(volumeId)?.provenance;
    return p ? { ...p } : null;
  }

  async close(): Promise<void> {
    const e = this.engine;
    this.engine = null;
    await e?.engine.close();
  }
}
