import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import type { Task } from '../common/task.js';
import type { ComputePool } from '../compute/pool.js';
import type { DeviceRequest, PrecisionRequest, ProviderChoice } from '../engine/runtime/device.js';
import { DOUBT_SCALE, doubtfulVoxels } from '../fusion/vote.js';
import { voxelVolumeMm3, volumeOnGrid, type Volume } from '../imaging/volume.js';
import type { Library } from '../library/library.js';
import { resolveContextSet, type ResolvedContextSet } from '../library/resolve.js';
import { scannerMatch } from '../library/scanner-match.js';
import type { ContextSetInfo } from '../library/types.js';
import { chooseDefaultSet, type DefaultSetChoice } from '../library/default-set.js';
import { STARTER_CONTEXT_SIZE } from '../library/starter.js';
import { chooseAlign, chooseMethod, isFusion, isLesionMethod, isLesionRunMethod, isRestoration, METHODS, type Method } from '../pipeline/defaults.js';
import type { LesionDetails } from '../pipeline/lesion-run.js';
import { restorationFor, type RestorationOutcome } from '../pipeline/restoration-run.js';
import type { RestorationJobs } from '../restoration/runner.js';
import { FUSION_NAMES } from '../fusion/ids.js';
import type { ModelRunner } from '../pipeline/model-runner.js';
import type { PipelineProgress } from '../pipeline/progress.js';
import { runPipeline, type PipelineResult } from '../pipeline/run.js';
import { ALIGN_MODES, type AlignMode, type PairFiles, type RegistrationCache, type RegistrationJobs } from '../registration/index.js';

// What front ends show of the defaults (usage texts, the Run panel) comes from here, not from the pipeline.
export { DEFAULTS, isFusion, isLesionMethod, MODEL_ALIGN, METHODS, type Method } from '../pipeline/defaults.js';
export { FUSION_NAMES } from '../fusion/ids.js';
export { ALIGN_MODES, type AlignMode } from '../registration/index.js';
import type { SegProvenance } from '../export/types.js';
import { volumeStats } from '../export/stats.js';
import { sha256File } from '../util/hash.js';
import { pickModel, type FoundModel } from './models.js';
import { runProvenance } from './provenance.js';
import type { LabelStat, StructureRequest } from './types.js';

/** Where a run's context pairs come from. */
export type RunContext =
  /** Files named by the user (the CLI's --context): checked before any compute, identified by content. */
  | { kind: 'files'; pairs: (PairFiles & { channelFiles?: string[] })[] }
  /** Stored sets; several sets of one task pool their pairs (one set per scanner). `pairIds` keeps only those. */
  | { kind: 'sets'; names: string[]; pairIds?: number[] }
  /** The stored set that fits the target best (suggestContextSet). */
  | { kind: 'suggested' };

/** One run as every front end asks for it: the app's Run button, `neuroverse run`, and each scan of a batch. */
export interface RunRequest {
  target: Volume;
  /** How the run names its target in messages and the run log: its file, or the name it is open under. */
  targetName: string;
  context: RunContext;
  /** Absent: the set's task, or segment for files. */
  task?: Task;
  /** Segmentation only. Absent: the set's own structure, or every non-zero label of the given files. */
  structures?: StructureRequest[];
  method?: Method;
  align?: AlignMode;
  /** A model package by id among the installed ones, or by folder; absent = the first that can run the task. */
  model?: { id: string } | { dir: string };
  device?: DeviceRequest;
  precision?: PrecisionRequest;
  miniContext?: number | 'auto';
  /** Use only the N pairs that fit this target best (ranked after affine alignment). */
  autoContext?: number;
  /** Align through this reference image instead of each pair to the target (registration/align.ts). */
  reference?: string;
  /** Store the result and its provenance in the library's run log (the app does; the CLI does not). */
  record?: boolean;
  /**
   * A lesion or tumour (somewhere else in every patient): the lesion methods' defaults (learned from the examples'
   * voxels, no alignment, no anatomy QC; an empty mask is a valid answer). Implied by a lesion method.
   */
  lesion?: boolean;
  /** Lesion runs: the target's further channels (T1c, T1…), files on its grid, in the order of the pairs' channels. */
  targetChannels?: string[];
}

/** What a run needs from its host; the app keeps them open between runs, the CLI for one. */
export interface RunServices {
  library(): Promise<Library>;
  models(): Promise<FoundModel[]>;
  openModel(dir: string, device: DeviceRequest, precision: PrecisionRequest): Promise<ModelRunner>;
  /** Registration workers; asked for only when the run aligns or fuses. */
  pool(): ComputePool<RegistrationJobs>;
  /** The bundled starter set's name (library/starter.ts), or null where the app ships none. */
  starterSet?: string | null;
  /** Restoration workers (restoration/pool.ts); without them a classical restoration runs in this thread. */
  restorationPool?(): ComputePool<RestorationJobs>;
  cache: RegistrationCache;
  onProgress?(p: RunProgress): void;
  signal?: AbortSignal;
}

/** The pipeline's steps, with the structure's name where a step is about one (of `structures`). */
export type RunProgress =
  (PipelineProgress & { structureName?: string; structures?: number }) | { stage: 'load-model'; fraction: null } | { stage: 'save'; fraction: null };

/** A context pair of a run, with what it is known by. */
export interface RunPair extends PairFiles {
  /** "pair 3" of a set (with the set's name when sets are pooled), or the image's file name. */
  name: string;
  imageSha256?: string;
  labelSha256?: string;
  /** Stored pairs only. */
  pairId?: number;
  setName?: string;
  position?: number;
  /** The file the stored image was added from, where known. */
  imageSource?: string | null;
  /** Lesion runs: the pair's further channels on its image's grid (FLAIR first, then e.g. T1c). */
  channelFiles?: string[];
}

export interface RunChoiceRow {
  pair: RunPair;
  similarity: number;
  headerMatch: number;
  score: number;
  rank: number;
  chosen: boolean;
}

export interface RunStructure {
  name: string;
  labels: number[];
  /** Its mask (segment) or restored image (generate) on the target's grid. */
  volume: Volume;
  contextSize: number;
  miniContext: number | null;
  /** Aligned model runs: the vote of the same aligned labels, and how far the model agrees with it. */
  baseline: { voxels: number; voteMl: number; agreement: number } | null;
  /** Aligned segmentation: per-voxel doubt (0–DOUBT_SCALE) and the mL in doubt (doubt ≥ 0.5). */
  doubt: Uint8Array | null;
  doubtfulMl: number | null;
  contextChoice: { n: number; from: number; rows: RunChoiceRow[] } | null;
  /** The pairs it used. */
  pairs: RunPair[];
  /** Lesion runs: the rule learned from the examples, lesion count and volumes (pipeline/lesion-run.ts). */
  lesion: LesionDetails | null;
}

export interface RunQc {
  kind: string;
  structure: string;
  pair: RunPair | null;
  value: number | null;
  message: string;
}

export interface RunOutcome {
  task: Task;
  method: Method;
  align: AlignMode;
  /** The set's name, pooled sets' names joined by " + ", or what stands for files given by hand. */
  contextName: string;
  /** The sets used (empty for files). */
  sets: ContextSetInfo[];
  /** Why this context: named by the user, or the set that fits (library/default-set.ts) and why. */
  contextReason: string;
  /** The context is the bundled starter set. */
  starter: boolean;
  model: FoundModel | { dir: string; id: null; name: string } | null;
  structures: RunStructure[];
  /** Segmentation: structure k as value k+1 (earlier structures win overlaps); generation: the restored image. */
  result: Volume;
  /** The largest doubt of any structure per voxel (0–1 through the NIfTI slope); null without aligned labels. */
  doubt: Volume | null;
  labelStats: LabelStat[];
  qc: RunQc[];
  provenance: SegProvenance;
  choice: ProviderChoice | null;
  alignment: PipelineResult['alignment'];
  /** Mini-contexts of the longest structure (0 without the model). */
  miniContexts: number;
  /** Classical restoration, or the model's generation in tiles: what it chose and how the examples fared (the guard). */
  restoration: RestorationOutcome | null;
  seconds: Record<string, number>;
  runId: number | null;
}

/**
 * A run, start to end, in one place for the app, the CLI and batch: resolve the context, validate the request,
 * choose method, alignment and model, align and fuse or infer (pipeline/run.ts), doubt, QC, provenance, timings,
 * and the run log. Front ends only translate their input into a RunRequest and the outcome into their output.
 */
export async function orchestrateRun(req: RunRequest, services: RunServices): Promise<RunOutcome> {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  checkRunSettings(req);
  const ctx = await resolveContext(req, services);
  // Generation with no method or model named: the classical restoration the set's task name or the examples
  // ask for (restoration/restore.ts), else the model.
  const restorationAsked =
    ctx.task === 'generate' && req.method === undefined && req.model === undefined
      ? await restorationFor(ctx.sets[0]?.task.name, ctx.structures[0]?.pairs ?? [])
      : null;
  // A set whose task marks a lesion runs as a lesion run without being told (`run --context-set NAME`, the Run panel).
  const lesion = req.lesion === true || isLesionMethod(req.method) || ctx.lesion;
  if (ctx.lesion && req.method !== undefined && !isLesionRunMethod(req.method))
    throw new InputError(
      undefined,
      `context set "${ctx.name}" marks a lesion: its runs use the method classifier, threshold or model (got "${req.method}")`,
      'usage',
    );
  const method = chooseMethod(ctx.task, { method: req.method, modelNamed: req.model !== undefined, restoration: restorationAsked?.method, lesion });
  if (lesion && ctx.task !== 'segment') throw new InputError(undefined, 'a lesion run segments: it applies to segmentation only', 'usage');
  if (isRestoration(method) && ctx.task !== 'generate')
    throw new InputError(undefined, `method ${method} restores images: it applies to generation only`, 'usage');
  // The set's kind is known only now: the same rule as checkRunSettings, for a kind the request did not name.
  if (isFusion(method) && ctx.task !== 'segment')
    throw new InputError(undefined, `method ${method} fuses label maps: it applies to segmentation only`, 'usage');

  // The installed models are picked for anatomy: a lesion run takes a model only when it is named.
  if (lesion && method === 'model' && req.model === undefined)
    throw new InputError(
      undefined,
      'a lesion run with the model needs the model named (a package trained for lesions; the bundled one was trained on anatomy)',
      'usage',
    );
  let model: RunOutcome['model'] = null;
  let engine: ModelRunner | undefined;
  if (method === 'model') {
    services.onProgress?.({ stage: 'load-model', fraction: null });
    const named = req.model;
    // A folder given by hand is opened as it is (errors name it); otherwise the same lookup as the app's.
    model = named && 'dir' in named ? { dir: named.dir, id: null, name: basename(named.dir) } : pickModel(await services.models(), named?.id, ctx.task);
    engine = await services.openModel(model.dir, req.device ?? 'auto', req.precision ?? 'auto');
    if (!engine.manifest.tasks.includes(ctx.task))
      throw new InputError(model.dir, `model was not trained for task "${ctx.task}" (manifest tasks: ${engine.manifest.tasks.join(', ')})`);
    if (model.id === null) model = { ...model, name: engine.manifest.name };
  }
  // A lesion run is never aligned, whatever a model's manifest says it was trained with.
  const align = chooseAlign(ctx.task, method, req.align ?? (lesion ? 'none' : undefined), engine?.manifest.alignment);
  if (req.reference !== undefined && align === 'none') throw new InputError(undefined, 'a reference image needs alignment affine or deformable', 'usage');
  if (lesion && align !== 'none')
    throw new InputError(undefined, `lesion runs are not aligned (got alignment ${align}): a lesion is not where the examples' lesions are`, 'usage');
  const load = (performance.now() - t0) / 1000;
  // The starter set holds more pairs than a run needs: unless the user chose, the best-fitting few (choosing
  // compares affinely aligned images, so not without alignment).
  const pickedPairs = req.context.kind === 'sets' && req.context.pairIds !== undefined;
  const autoContext =
    req.autoContext ??
    (ctx.starter && !pickedPairs && align !== 'none' && ctx.structures[0].pairs.length > STARTER_CONTEXT_SIZE ? STARTER_CONTEXT_SIZE : undefined);

  let miniContexts = 0;
  const run = await runPipeline({
    target: req.target,
    targetFile: req.targetName,
    structures: ctx.structures.map((s) => ({ task: ctx.task, name: s.name, labels: s.labels, pairs: s.pairs })),
    align,
    method,
    model: engine,
    pool: align !== 'none' || isFusion(method) ? services.pool() : undefined,
    restoration: isRestoration(method)
      ? { pool: services.restorationPool?.(), why: restorationAsked?.why ?? 'asked for', auto: restorationAsked !== null }
      : undefined,
    cache: services.cache,
    reference: req.reference,
    miniContext: req.miniContext ?? 'auto',
    signal: services.signal,
    // Lesion pairs carry further channels: the lesion worker checks every channel's grid itself.
    checkPairsFirst: ctx.checkPairsFirst && !lesion,
    targetChannels: req.targetChannels,
    lesion: lesion && method === 'model',
    autoContext: autoContext === undefined ? undefined : { n: autoContext, headerMatch: (p) => ctx.headerMatch(p as RunPair) },
    pairName: (p) => (p as RunPair).name,
    syntheticPairs: ctx.starter,
    onProgress: (p) => {
      if (p.stage === 'mini-context') miniContexts = Math.max(miniContexts, p.miniContexts);
      services.onProgress?.(
        p.stage === 'align' || p.stage === 'restore' ? p : { ...p, structureName: ctx.structures[p.structure].name, structures: ctx.structures.length },
      );
    },
  });

  services.onProgress?.({ stage: 'save', fraction: null });
  const t = performance.now();
  const mm3 = voxelVolumeMm3(req.target.affine);
  const names = ctx.structures.map((s) => s.name);
  const structures: RunStructure[] = run.structures.map((s, k) => ({
    name: names[k],
    labels: ctx.structures[k].labels,
    volume: s.volume,
    contextSize: s.contextSize,
    miniContext: s.miniContext,
    baseline: s.baseline ? { ...s.baseline, voteMl: Math.round(((s.baseline.voxels * mm3) / 1000) * 1000) / 1000 } : null,
    doubt: s.uncertainty,
    doubtfulMl: s.uncertainty ? Math.round((doubtfulVoxels(s.uncertainty) * mm3) / 10) / 100 : null,
    contextChoice: s.contextChoice
      ? {
          n: s.contextChoice.n,
          from: s.contextChoice.from,
          rows: s.contextChoice.scores.map((c) => ({ ...c, pair: ctx.structures[k].pairs[c.index] })),
        }
      : null,
    pairs: s.pairs as RunPair[],
    lesion: s.lesion ?? null,
  }));
  const result =
    ctx.task === 'segment'
      ? combineMasks(
          structures.map((s) => s.volume),
          `${isFusion(method) ? FUSION_NAMES[method] : 'neuroverse3d'} ${names.join(' + ')} (${model?.name ?? align})`,
        )
      : structures[0].volume;
  const used = [...new Map(structures.flatMap((s) => s.pairs).map((p) => [`${p.imageFile}\0${p.labelFile}`, p])).values()];
  const provenance = runProvenance(method, align, engine?.manifest ?? null, { name: ctx.name, pairs: await contentIds(used) });
  const seconds: Record<string, number> = { load, ...run.seconds };
  seconds.postprocess += (performance.now() - t) / 1000;

  let runId: number | null = null;
  if (req.record) {
    const t1 = performance.now();
    const library = await services.library();
    runId = await library.recordRun({
      setName: ctx.sets.length === 1 ? ctx.sets[0].name : undefined,
      model: model?.id ?? model?.dir ?? (isFusion(method) && method !== 'vote' ? `atlas-${method}` : 'atlas-vote'),
      method,
      alignment: align,
      miniContext: structures[0].miniContext ?? undefined,
      device: run.choice?.provider ?? 'cpu',
      targetSource: req.target.source.path ?? req.targetName,
      studyUid: req.target.source.studyInstanceUid,
      labels: [...new Set(structures.flatMap((s) => s.labels))],
      timings: seconds,
      result: { volume: result, intent: result.data instanceof Uint8Array ? 'label' : undefined },
      startedAt,
      finishedAt: new Date().toISOString(),
      // A copy: the caller's provenance gets the run id after the record is written.
      provenance: { ...provenance },
    });
    provenance.runId = runId;
    seconds.record = (performance.now() - t1) / 1000;
  }
  seconds.total = (performance.now() - t0) / 1000;
  return {
    restoration: run.restoration,
    task: ctx.task,
    method,
    align,
    contextName: ctx.name,
    sets: ctx.sets,
    contextReason: ctx.reason,
    starter: ctx.starter,
    model,
    structures,
    result,
    doubt: ctx.task === 'segment' ? doubtVolume(structures, req.target) : null,
    labelStats: ctx.task === 'segment' ? labelStats(result, names) : [],
    qc: run.qc.map((w) => ({
      kind: w.kind,
      structure: names[w.structure],
      pair: w.pair !== undefined ? structures[w.structure].pairs[w.pair] : null,
      value: w.value ?? null,
      message: w.message,
    })),
    provenance,
    choice: run.choice,
    alignment: run.alignment,
    miniContexts: structures[0].miniContext ? miniContexts || Math.ceil(structures[0].contextSize / structures[0].miniContext) : 0,
    seconds: Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
    runId,
  };
}

/** How a front end names the settings in its messages: the CLI by its flags, the app in words. */
export interface SettingWords {
  task: string;
  method: string;
  align: string;
  model: string;
  autoContext: string;
  miniContext: string;
}

const APP_WORDS: SettingWords = {
  task: 'the kind',
  method: 'the method',
  align: 'the alignment',
  model: 'a model',
  autoContext: 'the number of pairs to choose',
  miniContext: 'the mini-context size',
};

/**
 * The settings a request can get wrong on its own, before any file is read: values out of their lists and
 * combinations that cannot run. orchestrateRun checks them (requests arrive over transports and are not trusted
 * from their types); a front end may call it first, with its own words, to fail before it opens the target.
 */
export function checkRunSettings(req: Partial<RunRequest>, w: SettingWords = APP_WORDS): void {
  if (req.task !== undefined && req.task !== 'segment' && req.task !== 'generate')
    throw new InputError(undefined, `${w.task} must be segment or generate (got "${String(req.task)}")`, 'usage');
  if (req.method !== undefined && !METHODS.includes(req.method))
    throw new InputError(undefined, `${w.method} must be ${METHODS.join(', ')} (got "${String(req.method)}")`, 'usage');
  if (req.align !== undefined && !ALIGN_MODES.includes(req.align))
    throw new InputError(undefined, `${w.align} must be ${ALIGN_MODES.join(', ')} (got "${String(req.align)}")`, 'usage');
  if (req.method !== undefined && isFusion(req.method) && req.task === 'generate')
    throw new InputError(undefined, `${w.method} ${req.method} fuses label maps: it applies to segmentation only`, 'usage');
  if (req.method !== undefined && isFusion(req.method) && req.model)
    throw new InputError(undefined, `${w.model} does not apply to method ${req.method} (atlas fusion uses no model)`, 'usage');
  if (req.method !== undefined && isRestoration(req.method) && req.task === 'segment')
    throw new InputError(undefined, `${w.method} ${req.method} restores images: it applies to generation only`, 'usage');
  if (req.method !== undefined && isRestoration(req.method) && req.model)
    throw new InputError(undefined, `${w.model} does not apply to method ${req.method} (no model)`, 'usage');
  if (req.lesion && req.method !== undefined && !isLesionRunMethod(req.method))
    throw new InputError(undefined, `lesion runs use ${w.method} classifier, threshold or model (got "${req.method}")`, 'usage');
  if (req.model && isLesionMethod(req.method))
    throw new InputError(undefined, `${w.model} does not apply to method ${req.method} (fitted on the pairs at run time)`, 'usage');
  if (req.targetChannels?.length && !(req.lesion || isLesionMethod(req.method)))
    throw new InputError(undefined, 'further target channels apply to lesion runs', 'usage');
  if (req.autoContext !== undefined && !(Number.isInteger(req.autoContext) && req.autoContext >= 1))
    throw new InputError(undefined, `${w.autoContext} must be a positive integer (got ${req.autoContext})`, 'usage');
  const mc = req.miniContext;
  if (mc !== undefined && mc !== 'auto' && !(Number.isInteger(mc) && mc >= 1))
    throw new InputError(undefined, `${w.miniContext} must be a positive integer or auto (got "${String(mc)}")`, 'usage');
}

interface ResolvedRunContext {
  task: Task;
  name: string;
  reason: string;
  starter: boolean;
  sets: ContextSetInfo[];
  structures: { name: string; labels: number[]; pairs: RunPair[] }[];
  checkPairsFirst: boolean;
  /** The sets' task marks a lesion (library TaskInfo.lesion); files given by hand say so with `lesion`. */
  lesion: boolean;
  /** 0–1: how well a pair's scanner matches the target's DICOM header (its set's scanner). */
  headerMatch(p: RunPair): number;
}

async function resolveContext(req: RunRequest, services: RunServices): Promise<ResolvedRunContext> {
  if (req.context.kind === 'files') {
    const task = req.task ?? 'segment';
    const pairs: RunPair[] = req.context.pairs.map((p) => ({ ...p, name: basename(p.imageFile) }));
    if (pairs.length === 0) throw new InputError(undefined, 'give at least one context pair', 'usage');
    return {
      task,
      name: 'pairs given with --context',
      reason: 'pairs given by hand',
      starter: false,
      sets: [],
      structures: structuresOf(task, req.structures, { name: 'the labels', labels: [] }).map((s) => ({ ...s, pairs })),
      checkPairsFirst: true,
      lesion: false,
      headerMatch: () => 0,
    };
  }
  const library = await services.library();
  const suggested = req.context.kind === 'suggested' ? suggestedSet(req, library, services.starterSet ?? null) : null;
  const names = req.context.kind === 'sets' ? req.context.names : [suggested!.set.name];
  if (names.length === 0) throw new InputError(undefined, 'name at least one context set', 'usage');
  const base = resolveContextSet(library, names[0]);
  const task = base.task;
  if (req.task !== undefined && req.task !== task) throw new InputError(undefined, `task ${req.task} does not match set "${names[0]}" (task ${task})`, 'usage');
  const structures = structuresOf(task, req.structures, { name: base.set.task.structure ?? base.set.task.name, labels: base.labels });
  const sets = new Map<string, ContextSetInfo>();
  const resolved = structures.map((s) => {
    // Each structure's labels must occur in every set it pools (resolveContextSet checks the stored maps).
    const parts: ResolvedContextSet[] = names.map((name) => resolveContextSet(library, name, task === 'segment' ? s.labels : undefined));
    for (const r of parts) {
      // Said before the task rule that also refuses it: what is wrong is mixing the two ways of finding a label.
      if (r.set.task.lesion !== base.set.task.lesion) {
        const [les, anat] = r.set.task.lesion ? [r.set, base.set] : [base.set, r.set];
        throw new InputError(
          undefined,
          `set "${les.name}" marks a lesion and set "${anat.name}" anatomy: a lesion is learned from the examples' voxels, anatomy by aligning them, so they cannot be pooled`,
          'usage',
        );
      }
      if (r.set.task.name !== base.set.task.name)
        throw new InputError(
          undefined,
          `set "${r.set.name}" is for task "${r.set.task.name}", set "${base.set.name}" for "${base.set.task.name}": pooled sets must share their task`,
          'usage',
        );
      sets.set(r.set.name, r.set);
    }
    return { ...s, labels: task === 'segment' ? parts[0].labels : s.labels, pairs: pooledPairs(parts, names.length > 1) };
  });
  const pairIds = req.context.kind === 'sets' ? req.context.pairIds : undefined;
  if (pairIds !== undefined) {
    if (!Array.isArray(pairIds) || pairIds.length === 0) throw new InputError(undefined, 'pick at least one context pair', 'usage');
    const missing = pairIds.filter((id) => !resolved[0].pairs.some((p) => p.pairId === id));
    if (missing.length) throw new InputError(undefined, `pair(s) ${missing.join(', ')} are not in set "${names.join(' + ')}"`, 'usage');
    for (const s of resolved) s.pairs = s.pairs.filter((p) => pairIds.includes(p.pairId!));
  }
  const dicom = req.target.source.dicom;
  return {
    task,
    name: names.join(' + '),
    reason: suggested?.reason ?? 'named by the user',
    starter: names.length === 1 && names[0] === services.starterSet,
    sets: [...sets.values()],
    structures: resolved,
    // Stored pairs were checked when they were added (same grid) and their labels just now.
    checkPairsFirst: false,
    lesion: base.set.task.lesion,
    headerMatch: (p) => {
      const set = p.setName ? sets.get(p.setName) : undefined;
      return set ? scannerMatch(set.scanner, dicom).score : 0;
    },
  };
}

/** The requested structures, or the default one; generation has no structures to ask for. */
function structuresOf(task: Task, asked: StructureRequest[] | undefined, fallback: StructureRequest): StructureRequest[] {
  if (task === 'generate') {
    if (asked?.length) throw new InputError(undefined, 'structures and label values apply to segmentation only', 'usage');
    return [{ name: fallback.name, labels: [] }];
  }
  if (!asked?.length) return [fallback];
  for (const s of asked)
    if (!Array.isArray(s.labels) || s.labels.some((v) => !Number.isInteger(v)))
      throw new InputError(undefined, `structure "${s.name}": label values must be integers`, 'usage');
  return asked;
}

/** The pairs of one or more resolved sets, each stored pair once, named as the user knows it. */
function pooledPairs(parts: ResolvedContextSet[], pooled: boolean): RunPair[] {
  const seen = new Set<string>();
  const out: RunPair[] = [];
  for (const r of parts) {
    for (const p of r.pairs) {
      const key = `${p.imageSha256}:${p.labelSha256}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const info = r.set.pairs.find((x) => x.id === p.pairId);
      const position = info?.position ?? out.length + 1;
      out.push({ ...p, position, imageSource: info?.imageSource ?? null, name: `${pooled ? `${r.set.name} ` : ''}pair ${position}` });
    }
  }
  return out;
}

/** The set a run without a named context uses (library/default-set.ts): the scanner's, the user's own, else the starter. */
function suggestedSet(req: RunRequest, library: Library, starter: string | null): DefaultSetChoice {
  const labels = [...new Set((req.structures ?? []).flatMap((s) => s.labels))];
  const lesion = req.lesion === true || isLesionMethod(req.method);
  const choice = chooseDefaultSet(library.listSets(), { task: req.task, lesion, labels, dicom: req.target.source.dicom, starter });
  if (!choice)
    throw new InputError(
      undefined,
      `no context given and no ${lesion ? 'lesion ' : ''}context set in the library ${labels.length ? `holds label(s) ${labels.join(', ')}` : 'has pairs'}: name a context set or give context pairs`,
      'empty-set',
    );
  return choice;
}

/** The stored set for a target (the Run panel's preselection); without a kind, segmentation sets first. */
export function suggestContextSetFor(library: Library, target: Volume, task?: Task, starter: string | null = null): { setName: string | null; reason: string } {
  const sets = library.listSets().filter((s) => s.pairs.length > 0);
  const kind = task ?? (sets.some((s) => s.task.kind === 'segment') ? 'segment' : 'generate');
  // Anatomy first; a library of lesion sets only still gets one preselected.
  const choice =
    chooseDefaultSet(sets, { task: kind, dicom: target.source.dicom, starter }) ??
    chooseDefaultSet(sets, { task: kind, lesion: true, dicom: target.source.dicom, starter });
  return choice
    ? { setName: choice.set.name, reason: choice.reason }
    : { setName: null, reason: 'the library has no context set with pairs yet: add a pair in the Library panel' };
}

/** Pairs by content: stored pairs carry their hashes, files given by hand are hashed now. */
function contentIds(pairs: RunPair[]): Promise<{ imageSha256: string; labelSha256: string }[]> {
  return Promise.all(
    pairs.map(async (p) => ({
      imageSha256: p.imageSha256 ?? (await sha256File(p.imageFile)),
      labelSha256: p.labelSha256 ?? (await sha256File(p.labelFile)),
    })),
  );
}

/** The structures' doubt maps as one volume (the largest doubt per voxel); null when none has one. */
function doubtVolume(structures: RunStructure[], target: Volume): Volume | null {
  const maps = structures.map((s) => s.doubt).filter((m): m is Uint8Array => m !== null);
  if (maps.length === 0) return null;
  const out = maps.length === 1 ? maps[0] : new Uint8Array(maps[0].length);
  if (maps.length > 1) for (const m of maps) for (let i = 0; i < out.length; i++) if (m[i] > out[i]) out[i] = m[i];
  return volumeOnGrid(target, out, 'neuroverse doubt (0-1)', { slope: 1 / DOUBT_SCALE, intercept: 0 });
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
