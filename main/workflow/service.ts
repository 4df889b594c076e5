import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CancelledError, InputError } from '../common/errors.js';
import type { FileBlob } from '../common/types.js';
import type { Task } from '../common/task.js';
import type { VolumeStore } from '../session/volume-store.js';
import { importCheckpoint, InferenceEngine, parseDevice, parsePrecision } from '../engine/index.js';
import type { DeviceRequest, PrecisionRequest } from '../engine/index.js';
import type { ComputePool } from '../compute/pool.js';
import { chooseAlign, chooseMethod, isRestoration, METHODS } from '../pipeline/defaults.js';
import { restorationPool } from '../restoration/pool.js';
import { methodFromTaskName } from '../restoration/restore.js';
import type { Method } from '../pipeline/defaults.js';
import { inProcessRunner, workerRunner } from '../pipeline/model-runner.js';
import type { ModelRunner } from '../pipeline/model-runner.js';
import { runPipeline } from '../pipeline/run.js';
import { DOUBT_SCALE, doubtfulVoxels } from '../fusion/vote.js';
import { ALIGN_MODES, RegistrationCache, registrationPool } from '../registration/index.js';
import type { AlignMode } from '../registration/index.js';
import { registrationCacheDir } from '../settings/paths.js';
import { parseNifti, readNifti, spatialDims, voxelVolumeMm3, type Volume } from '../imaging/index.js';
import { volumeStats } from '../export/stats.js';
import type { ProgressFn } from '../jobs/jobs.js';
import { resolveContextSet, type StoredPairFiles } from '../library/resolve.js';
import type { ContextChoice } from '../pipeline/context-choice.js';
import { scannerMatch } from '../library/scanner-match.js';
import type { SegProvenance } from '../export/types.js';
import { runProvenance } from './provenance.js';
import type { LibraryService } from '../library/service.js';
import type { ContextSetInfo, PairInfo } from '../library/types.js';
import { labelCentroids, remapCorrected, savedLabelValues, splittableValues } from './corrected-labels.js';
import { findModels, modelPlaces, pickModel, type FoundModel } from './models.js';
import type {
  ContextChoiceInfo,
  ContextSetSuggestion,
  LabelStat,
  ModelInfo,
  RunTaskRequest,
  RunTaskResult,
  StructureRequest,
  UpdatedLabelVolume,
} from './types.js';

interface ResultOrigin {
  setName: string;
  targetVolumeId: string;
  structures: StructureRequest[];
  /** What its DICOM-SEG and the audit log say of how it was made. */
  provenance: SegProvenance;
}

export interface WorkflowOptions {
  dataDir: string;
  resources: string;
  volumes: VolumeStore;
  library: LibraryService;
  env?: NodeJS.ProcessEnv;
  /** The model on this thread instead of a compute worker (scripts/bench-host-latency.ts measures the difference). */
  modelInProcess?: boolean;
}

/**
 * The one-click workflow behind the API: pick a model and a context set, run every requested structure
 * on the open target with one shared target encoding, put the (multi-label) result into the session,
 * and record the run in the library. The API handlers are one-line calls into this class.
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
  private computePool: ComputePool | null = null;
  private restorationPool: ComputePool | null = null;

  constructor(private readonly o: WorkflowOptions) {}

  async listModels(): Promise<ModelInfo[]> {
    return (await this.models()).map(({ dir: _dir, ...info }) => info);
  }

  /**
   * Installs a checkpoint (official Lightning .ckpt or our safetensors) as a model package in
   * <dataDir>/models, converted in-process: users never need Python. The package is built in a hidden
   * folder and renamed into place, so a failed import leaves no half-installed model.
   */
  async importModel(file: FileBlob, progress?: ProgressFn, precision: 'fp32' | 'int8' = 'fp32'): Promise<ModelInfo> {
    // The options arrive over a transport: checked here, not trusted from the type.
    if (precision !== 'fp32' && precision !== 'int8') throw new InputError(file.name, `precision must be fp32 or int8 (got "${String(precision)}")`, 'usage');
    const ext = /\.(ckpt|pt|pth|safetensors)$/i.exec(file.name)?.[0];
    if (!ext) throw new InputError(file.name, 'not a model checkpoint (expected .ckpt, .pt, .pth or .safetensors)');
    const id =
      file.name
        .slice(0, -ext.length)
        .replace(/[^A-Za-z0-9._-]+/g, '_')
        .replace(/^[._]+/, '') || 'model';
    const root = join(this.o.dataDir, 'models');
    const final = join(root, id);
    if (
      await stat(final).then(
        () => true,
        () => false,
      )
    ) {
      throw new InputError(file.name, `a model named "${id}" is already installed (${final}); rename the file to install it beside`);
    }
    await mkdir(root, { recursive: true });
    const work = await mkdtemp(join(root, '.import-'));
    try {
      const source = join(work, `checkpoint${ext}`);
      await writeFile(source, file.data);
      progress?.(
        'import-model',
        null,
        `Converting ${file.name} to ONNX graphs${precision === 'int8' ? ' (and an int8 variant, calibrated on the bundled sample)' : ''}`,
      );
      await importCheckpoint(source, join(work, 'package'), { name: id, precision }).catch((err) => {
        // Errors name the temporary copy; the user knows the file by its own name.
        if (err instanceof InputError) throw new InputError(file.name, err.problem, err.code);
        throw err;
      });
      await rename(join(work, 'package'), final);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    const found = (await this.models()).find((m) => m.dir === final);
    if (!found) throw new InputError(file.name, 'was converted but the package cannot be read back');
    const { dir: _dir, ...info } = found;
    return info;
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
    const target = this.o.volumes.get(targetVolumeId);
    const withPairs = (await this.o.library.library()).listSets().filter((s) => s.pairs.length > 0);
    const kind = task ?? (withPairs.some((s) => s.task.kind === 'segment') ? 'segment' : 'generate');
    return suggestSet(
      withPairs.filter((s) => s.task.kind === kind),
      target,
    );
  }

  /**
   * Runs one at a time: they share the open engine (a second model or device would release it under a
   * running job), and two runs on two CPU cores would only slow each other down.
   */
  runTask(req: RunTaskRequest, progress: ProgressFn, signal: AbortSignal): Promise<RunTaskResult> {
    const turn = this.queue.then(() => {
      if (signal.aborted) throw new CancelledError('run');
      return this.runNow(req, progress, signal);
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async runNow(req: RunTaskRequest, progress: ProgressFn, signal: AbortSignal): Promise<RunTaskResult> {
    const t0 = performance.now();
    const startedAt = new Date().toISOString();
    const target = this.o.volumes.get(req.targetVolumeId);
    const targetInfo = this.o.volumes.info(req.targetVolumeId);
    const library = await this.o.library.library();

    let setName = req.contextSet;
    if (!setName) {
      const s = await this.suggestContextSet(req.targetVolumeId);
      if (!s.setName) throw new InputError(undefined, s.reason, 'empty-set');
      setName = s.setName;
    }
    const base = resolveContextSet(library, setName);
    const structures: StructureRequest[] =
      base.task === 'segment' && req.structures?.length ? req.structures : [{ name: base.set.task.structure ?? base.set.task.name, labels: base.labels }];
    if (base.task === 'generate' && req.structures?.length) {
      throw new InputError(undefined, `set "${setName}" is for the generation task "${base.set.task.name}": structures do not apply`, 'usage');
    }
    // Each structure's labels must occur in the set (resolveContextSet checks them against the stored maps).
    const resolved = structures.map((s) => ({ s, r: base.task === 'segment' ? resolveContextSet(library, setName!, s.labels) : base }));
    const pairs = pickPairs(base.pairs, req.pairIds, setName);
    const pairIds = new Set(pairs.map((p) => p.pairId));
    for (const x of resolved) x.r = { ...x.r, pairs: x.r.pairs.filter((p) => pairIds.has(p.pairId)) };
    if (req.autoContext !== undefined && !(Number.isInteger(req.autoContext) && req.autoContext >= 1))
      throw new InputError(undefined, `the number of pairs to choose must be a positive integer (got ${req.autoContext})`, 'usage');

    if (req.method !== undefined && !METHODS.includes(req.method))
      throw new InputError(undefined, `method must be ${METHODS.join(' or ')} (got "${req.method}")`, 'usage');
    if (req.align !== undefined && !ALIGN_MODES.includes(req.align))
      throw new InputError(undefined, `alignment must be ${ALIGN_MODES.join(', ')} (got "${req.align}")`, 'usage');
    const byName = base.task === 'generate' && req.method === undefined && req.model === undefined ? methodFromTaskName(base.set.task.name) : null;
    const method: Method = chooseMethod(base.task, { method: req.method, modelNamed: req.model !== undefined, restoration: byName });
    let model: FoundModel | null = null;
    let engine: ModelRunner | undefined;
    if (method === 'model') {
      progress('load-model', null, 'Loading the model');
      model = pickModel(await this.models(), req.model, base.task);
      engine = await this.openEngine(model, parseDevice(req.device ?? 'auto'), parsePrecision(req.precision ?? 'auto'));
    }
    const align: AlignMode = chooseAlign(base.task, method, req.align, engine?.manifest.alignment);
    const load = (performance.now() - t0) / 1000;
    progress('align', null, align === 'none' ? 'Preparing the context pairs' : `Aligning ${pairs.length} context pairs to the target (${align})`);
    const headerMatch = scannerMatch(base.set.scanner, target.source.dicom).score;
    let miniContexts = 0;
    const run = await runPipeline({
      target,
      targetFile: targetInfo.name,
      structures: resolved.map(({ s, r }) => ({ task: r.task, name: s.name, labels: r.labels, pairs: r.pairs })),
      autoContext: req.autoContext === undefined ? undefined : { n: req.autoContext, headerMatch: () => headerMatch },
      pairName: (p) => `pair ${base.set.pairs.find((x) => x.id === (p as StoredPairFiles).pairId)?.position ?? '?'}`,
      align,
      method,
      model: engine,
      pool: this.pool(),
      cache: new RegistrationCache(registrationCacheDir(this.o.dataDir)),
      restoration: isRestoration(method)
        ? { pool: this.restorePool(), why: byName ? `the task's name ("${base.set.task.name}")` : 'asked for', auto: byName !== null }
        : undefined,
      miniContext: req.miniContext ?? 'auto',
      signal,
      // Stored pairs were checked when they were added (same grid) and the labels just now.
      checkPairsFirst: false,
      onProgress: (stage, fraction, message) => {
        const m = /mini-context (\d+)\/(\d+)/.exec(message);
        if (m) miniContexts = Math.max(miniContexts, Number(m[2]));
        // Structures are named in the app's words, not numbered.
        const named = message.replace(/^structure (\d+): /, (_, k) => `${structures[Number(k) - 1].name}: `);
        // progress() throws when the job was cancelled; the pipeline's signal stops the workers too.
        progress(stage, fraction, named);
      },
    });

    progress('save', null, 'Saving the result');
    let t = performance.now();
    const first = run.structures[0];
    const names = structures.map((s) => s.name);
    let result: Volume;
    let stats: LabelStat[] = [];
    if (base.task === 'segment') {
      result = combineMasks(
        run.structures.map((s) => s.volume),
        `${method === 'vote' ? 'atlas vote' : 'neuroverse3d'} ${names.join(' + ')} (${model?.name ?? align})`,
      );
      stats = labelStats(result, names);
    } else {
      result = first.volume;
    }
    const displayName = `${base.task === 'segment' ? names.join(' + ') : base.set.task.name} · ${setName}`;
    const info = this.o.volumes.add(result, displayName, base.task === 'segment' ? 'label' : 'image');
    const uncertainty = this.addDoubt(run.structures, names, target, displayName);
    // The pairs a structure actually used (all of them, or the chosen ones).
    const used = new Set(run.structures.flatMap((s) => s.pairs.map((p) => (p as StoredPairFiles).pairId)));
    const provenance = runProvenance(method, align, engine?.manifest ?? null, { name: setName, pairs: pairs.filter((p) => used.has(p.pairId)) });
    const contextChoice = run.structures.some((s) => s.contextChoice)
      ? run.structures.map((s, k) => choiceInfo(structures[k].name, s.contextChoice!, resolved[k].r.pairs, base.set))
      : null;
    this.results.set(info.id, { setName, targetVolumeId: req.targetVolumeId, structures, provenance });
    const seconds: Record<string, number> = { load, ...run.seconds };
    seconds.postprocess += (performance.now() - t) / 1000;
    t = performance.now();
    const runId = await library.recordRun({
      setName,
      model: model?.id ?? 'atlas-vote',
      method,
      alignment: align,
      miniContext: first.miniContext ?? undefined,
      device: run.choice?.provider ?? 'cpu',
      targetSource: target.source.path ?? targetInfo.name,
      studyUid: target.source.studyInstanceUid,
      labels: [...new Set(structures.flatMap((s) => s.labels))],
      timings: seconds,
      result: { volume: result, intent: result.data instanceof Uint8Array ? 'label' : undefined },
      startedAt,
      finishedAt: new Date().toISOString(),
      // A copy: the run id is added to the session's provenance after the record is written.
      provenance: { ...provenance },
    });
    provenance.runId = runId;
    seconds.record = (performance.now() - t) / 1000;
    seconds.total = (performance.now() - t0) / 1000;
    return {
      volumeId: info.id,
      task: base.task,
      contextSet: setName,
      model: model?.id ?? null,
      method,
      align,
      alignment: run.alignment,
      contextSize: first.contextSize,
      miniContext: first.miniContext,
      miniContexts: first.miniContext ? miniContexts || Math.ceil(first.contextSize / first.miniContext) : 0,
      provider: run.choice?.provider ?? null,
      providerReason: run.choice?.reason ?? null,
      providerAttempts: run.choice?.attempts ?? null,
      precision: run.choice?.precision ?? null,
      structures: stats,
      baseline: baselineOf(run.structures, names, target),
      uncertainty,
      contextChoice,
      qc: run.qc.map((w) => ({
        kind: w.kind,
        structure: structures[w.structure].name,
        pairId: w.pair !== undefined ? (run.structures[w.structure].pairs[w.pair] as StoredPairFiles).pairId : null,
        value: w.value ?? null,
        message: w.message,
      })),
      seconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
      runId,
    };
  }

  /**
   * A corrected label map (NIfTI bytes, e.g. the viewer's drawing layer) for an open label volume: it must
   * have the same voxel grid; it is opened as a new label volume with the original's geometry, so that
   * it can be stored as a pair with the target it was drawn on.
   */
  updateLabelVolume(volumeId: string, nifti: Uint8Array, name?: string): UpdatedLabelVolume {
    const original = this.o.volumes.get(volumeId);
    const originalInfo = this.o.volumes.info(volumeId);
    if (!(nifti instanceof Uint8Array) || nifti.byteLength === 0) throw new InputError(undefined, 'the corrected label map arrived without bytes', 'usage');
    const edited = parseNifti(nifti, name ?? 'corrected label map');
    const a = spatialDims(original);
    const b = spatialDims(edited);
    if (a.some((d, k) => d !== b[k]) || (edited.dims[3] ?? 1) !== 1) {
      throw new InputError(name, `corrected label map is ${edited.dims.join('×')}, but ${originalInfo.name} is ${a.join('×')}`);
    }
    const data = new Uint8Array(edited.data.length);
    for (let i = 0; i < data.length; i++) {
      const v = Math.round(edited.data[i] * edited.slope + edited.intercept);
      data[i] = v > 0 && v < 256 ? v : 0;
    }
    const volume: Volume = {
      dims: a,
      spacing: original.spacing.slice(0, 3),
      affine: original.affine.map((r) => [...r]),
      data,
      slope: 1,
      intercept: 0,
      description: `${original.description} (corrected)`.slice(0, 79),
      source: { kind: 'memory' },
      xformCodes: original.xformCodes,
    };
    const origin = this.results.get(volumeId);
    const info = this.o.volumes.add(volume, `${originalInfo.name.replace(/ \(corrected\)$/, '')} (corrected)`, 'label');
    if (origin) this.results.set(info.id, { ...origin, provenance: { ...origin.provenance, type: 'SEMIAUTOMATIC' } });
    return {
      volumeId: info.id,
      labels: labelStats(
        volume,
        origin?.structures.map((s) => s.name),
      ),
    };
  }

  /**
   * Stores the target and a corrected result as a new pair of the set that produced it (or `setName`).
   * The result's values 1..n (one per structure, as the drawing layer holds them) are mapped back to the
   * set's vocabulary (corrected-labels.ts): structures run apart stay apart, and a structure run on several
   * values (left and right hippocampus as one) is split by where the set's label maps put each value.
   * The target must be the volume the result was computed on.
   */
  async addCorrectedPair(correctedVolumeId: string, setName?: string): Promise<PairInfo> {
    const origin = this.results.get(correctedVolumeId);
    if (!origin) throw new InputError(undefined, 'that volume is not the result of a run in this session', 'not-found');
    const library = await this.o.library.library();
    const set = library.requireSet(setName ?? origin.setName);
    const mask = this.o.volumes.get(correctedVolumeId);
    const values = savedLabelValues(origin.structures, set.task.labels);
    // Where a structure stands for several values, the set's own label maps say where each one lies.
    const splits = splittableValues(origin.structures, set.task.labels);
    const wanted = [...new Set(splits.flatMap((v) => v ?? []))];
    async function* labelMaps() {
      for (const p of set.pairs) yield await readNifti(p.label.path);
    }
    const centroids = wanted.length ? await labelCentroids(labelMaps(), wanted) : new Map();
    const out = remapCorrected(
      mask,
      values,
      splits.map((v) => (v && v.every((x) => centroids.has(x)) ? v.map((x) => ({ value: x, at: centroids.get(x)! })) : null)),
    );
    const remapped = this.o.volumes.add(
      { ...mask, data: out, description: `${mask.description}`.slice(0, 79) },
      `${this.o.volumes.info(correctedVolumeId).name} · ${set.name}`,
      'label',
    );
    return this.o.library.addPair({
      set: set.name,
      task: set.task.name,
      scanner: set.scanner.name,
      imageVolumeId: origin.targetVolumeId,
      labelVolumeId: remapped.id,
    });
  }

  /** The structures' doubt maps as one volume (the largest doubt per voxel), opened beside the result. */
  private addDoubt(results: { uncertainty: Uint8Array | null }[], names: string[], target: Volume, displayName: string): RunTaskResult['uncertainty'] {
    const maps = results.map((r) => r.uncertainty);
    if (!maps.some(Boolean)) return null;
    const out = new Uint8Array(maps.find(Boolean)!.length);
    for (const m of maps) if (m) for (let i = 0; i < out.length; i++) if (m[i] > out[i]) out[i] = m[i];
    // One pair voted alone leaves nothing in doubt: no map to show.
    if (!out.some((x) => x > 0)) return null;
    const mm3 = voxelVolumeMm3(target.affine);
    const structures = maps.map((m, k) => ({ name: names[k], doubtfulMl: m ? Math.round((doubtfulVoxels(m) * mm3) / 10) / 100 : 0 }));
    const volume: Volume = {
      dims: spatialDims(target),
      spacing: target.spacing.slice(0, 3),
      affine: target.affine.map((r) => [...r]),
      data: out,
      slope: 1 / DOUBT_SCALE,
      intercept: 0,
      description: 'neuroverse doubt (0-1)',
      source: { kind: 'memory' },
    };
    return { volumeId: this.o.volumes.add(volume, `doubt · ${displayName}`, 'probability').id, structures };
  }

  /** Registration workers, started on the first aligned run; idle workers do not keep the app alive. */
  private pool(): ComputePool {
    this.computePool ??= registrationPool();
    return this.computePool;
  }

  /** Restoration workers (restoration/pool.ts), started on the first classical restoration. */
  private restorePool(): ComputePool {
    this.restorationPool ??= restorationPool();
    return this.restorationPool;
  }

  private async openEngine(model: FoundModel, device: DeviceRequest, precision: PrecisionRequest): Promise<ModelRunner> {
    const key = `${model.dir}\0${device}\0${precision}`;
    if (this.engine?.key === key) return this.engine.engine;
    await this.close();
    const engine = this.o.modelInProcess
      ? inProcessRunner(await InferenceEngine.open(model.dir, device, precision))
      : await workerRunner(model.dir, device, precision);
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

/** The set's pairs to run with: all, or the ones the user picked (each must be in the set). */
function pickPairs(pairs: StoredPairFiles[], ids: number[] | undefined, setName: string): StoredPairFiles[] {
  if (ids === undefined) return pairs;
  if (!Array.isArray(ids) || ids.length === 0) throw new InputError(undefined, 'pick at least one context pair', 'usage');
  const missing = ids.filter((id) => !pairs.some((p) => p.pairId === id));
  if (missing.length) throw new InputError(undefined, `pair(s) ${missing.join(', ')} are not in set "${setName}"`, 'usage');
  return pairs.filter((p) => ids.includes(p.pairId));
}

function choiceInfo(structure: string, choice: ContextChoice, pairs: StoredPairFiles[], set: ContextSetInfo): ContextChoiceInfo {
  return {
    structure,
    n: choice.n,
    from: choice.from,
    pairs: choice.scores.map((c) => {
      const info = set.pairs.find((p) => p.id === pairs[c.index].pairId);
      const position = info?.position ?? c.index + 1;
      const source = info?.imageSource ? ` · ${basename(info.imageSource)}` : '';
      return {
        pairId: pairs[c.index].pairId,
        position,
        name: `pair ${position}${source}`,
        similarity: c.similarity,
        headerMatch: c.headerMatch,
        rank: c.rank,
        chosen: c.chosen,
      };
    }),
  };
}

function baselineOf(results: { baseline: { voxels: number; agreement: number } | null }[], names: string[], target: Volume): RunTaskResult['baseline'] {
  if (!results.some((r) => r.baseline)) return null;
  const mm3 = voxelVolumeMm3(target.affine);
  return results.flatMap((r, k) =>
    r.baseline ? [{ name: names[k], voteMl: Math.round(((r.baseline.voxels * mm3) / 1000) * 1000) / 1000, agreement: r.baseline.agreement }] : [],
  );
}

/** Structure k's mask becomes label value k+1; where masks overlap the earlier structure keeps the voxel. */
export function combineMasks(masks: Volume[], description: string): Volume {
  const out = new Uint8Array(masks[0].data.length);
  for (let k = masks.length - 1; k >= 0; k--) {
    const d = masks[k].data;
    for (let i = 0; i < out.length; i++) if (d[i] > 0) out[i] = k + 1;
  }
  return { ...masks[0], data: out, description: description.slice(0, 79) };
}

/**
 * The run summary's per-structure counts: the same statistics as the CSV and the report (export/stats.ts),
 * with every named structure listed, found or not (label k is structure k).
 */
export function labelStats(v: Volume, names: string[] = []): LabelStat[] {
  const found = new Map(volumeStats(v).structures.map((s) => [s.value, s]));
  const labels = new Set([...found.keys(), ...names.map((_, k) => k + 1)]);
  return [...labels]
    .sort((x, y) => x - y)
    .map((label) => {
      const voxels = found.get(label)?.voxels ?? 0;
      return { label, name: names[label - 1] ?? `label ${label}`, voxels, ml: Math.round(((voxels * voxelVolumeMm3(v.affine)) / 1000) * 1000) / 1000 };
    });
}

export function suggestSet(sets: ContextSetInfo[], target: Volume): ContextSetSuggestion {
  if (sets.length === 0) return { setName: null, reason: 'the library has no context set with pairs yet: add a pair in the Library panel' };
  const dicom = target.source.dicom ?? {};
  const sorted = [...sets].sort((a, b) => a.name.localeCompare(b.name));
  if (dicom.manufacturer) {
    const full = sorted.find((s) => scannerMatch(s.scanner, dicom).model);
    if (full) return { setName: full.name, reason: `scanner matches the target's DICOM header (${dicom.manufacturer} ${dicom.model})` };
    const part = sorted.find((s) => scannerMatch(s.scanner, dicom).manufacturer);
    if (part) return { setName: part.name, reason: `scanner manufacturer matches the target's DICOM header (${dicom.manufacturer})` };
  }
  return {
    setName: sorted[0].name,
    reason: dicom.manufacturer
      ? `no set's scanner matches ${dicom.manufacturer} ${dicom.model ?? ''}; first set for the task`
      : 'the target has no DICOM scanner header; first set for the task',
  };
}
