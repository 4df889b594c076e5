import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import type { ComputePool } from '../compute/pool.js';
import type { Task } from '../common/task.js';
import type { ProviderChoice } from '../engine/runtime/device.js';
import { checkContextPair } from '../engine/processing/pair-checks.js';
import type { TaskRunResult } from '../engine/run-task.js';
import type { PhaseSeconds } from '../engine/inference-engine.js';
import { fusionMethod } from '../fusion/methods.js';
import type { FusionId } from '../fusion/methods.js';
import { DOUBT_SCALE, majorityVotes } from '../fusion/vote.js';
import type { VoteResult } from '../fusion/vote.js';
import { readNifti } from '../imaging/nifti/read.js';
import type { Volume } from '../imaging/volume.js';
import { volumeOnGrid } from '../imaging/volume.js';
import { verdictOf } from '../restoration/denoise.js';
import type { VoxelBox } from '../imaging/voxel-box.js';
import { alignPairs, type AlignedSet } from '../registration/align.js';
import type { RegistrationCache } from '../registration/cache.js';
import type { AlignMode, PairFiles } from '../registration/types.js';
import type { RegistrationJobs } from '../registration/registration-jobs.js';
import { rankContext, type ContextChoice } from './context-choice.js';
import { ContextQc, type QcWarning } from './qc.js';
import { BRAIN_MARGIN_MM, isFusion, isLesionMethod, isRestoration } from './defaults.js';
import type { Method } from './defaults.js';
import type { ModelRunner, ModelProgress } from './model-runner.js';
import type { PipelineProgress } from './progress.js';
import { runRestoration, type RestorationOutcome } from './restoration-run.js';
import type { RestorationJobs } from '../restoration/runner.js';
import { modelLesionDetails, runLesionPipeline, type LesionDetails, type LesionPairFiles } from './lesion-run.js';
import type { LesionMethod } from '../lesion/segment-lesions.js';
import type { LesionJobs } from '../lesion/lesion-job.js';

export interface PipelineStructure {
  task: Task;
  /** How messages name it ("hippocampus"); default "labels 17, 53". */
  name?: string;
  /** Label values whose union is the structure; all non-zero labels when absent. */
  labels?: number[];
  pairs: PairFiles[];
}

export interface PipelineRun {
  target: Volume;
  targetFile?: string;
  structures: PipelineStructure[];
  align: AlignMode;
  method: Method;
  /** Needed for method "model": the model in this thread or in a compute worker (model-runner.ts). */
  model?: ModelRunner;
  /** Needed unless align is "none" with method "model". */
  pool?: ComputePool<RegistrationJobs>;
  cache?: RegistrationCache;
  /** Align through this reference image instead of pair → target (registration/align.ts). */
  reference?: string;
  miniContext?: number | 'auto';
  memoryBudgetBytes?: number;
  signal?: AbortSignal;
  /** Check every pair (grid, labels) before compute: the CLI's files, not the library's checked pairs. */
  checkPairsFirst?: boolean;
  /**
   * Use only the `n` pairs that fit the target best (context-choice.ts), ranked after affine alignment; the
   * run's own alignment then registers only those. `headerMatch` (0–1) scores a pair's scanner against the target's.
   */
  autoContext?: { n: number; headerMatch?: (p: PairFiles) => number };
  /** How messages name a pair (the library's "pair 3"); default the image's file name. */
  pairName?: (p: PairFiles) => string;
  /** The pairs' images were rendered from their label maps (the bundled starter set): fusion uses the settings measured for such pairs. */
  syntheticPairs?: boolean;
  onProgress?: (p: PipelineProgress) => void;
  /**
   * Classical restoration (methods nlm, bias-field): its compute workers (restoration/pool.ts; in this thread
   * when absent), why this method (for the report), and whether it was the default: a default method that
   * harms its own examples is not presented as the answer (the input comes back unchanged).
   */
  restoration?: { pool?: ComputePool<RestorationJobs>; why?: string; auto?: boolean };
  /** Lesion methods: the target's further channels (files on its grid); pairs give theirs as LesionPairFiles. */
  targetChannels?: string[];
  /** Lesion methods: the worker pool (lesion/lesion-pool.ts); one per run when absent. */
  lesionPool?: ComputePool<LesionJobs>;
  /**
   * A lesion run with method "model" (a model trained for lesions): unaligned, each image framed as the manifest
   * says, one channel, and the lesion count and volumes of its mask. The other lesion methods are lesion runs by
   * their method alone.
   */
  lesion?: boolean;
}

export interface PipelineStructureResult {
  volume: Volume;
  task: Task;
  contextSize: number;
  /** Model runs only. */
  miniContext: number | null;
  /**
   * Model runs on aligned pairs: the atlas vote of the same aligned labels (almost free once they are
   * aligned), the baseline the model must beat, and how far the model's mask agrees with it (Dice).
   */
  baseline: { voxels: number; agreement: number } | null;
  /**
   * Per-voxel doubt on the target's grid, 0–255 (vote.ts DOUBT_SCALE): how evenly the aligned context labels
   * split (1 − |2f − 1|), raised to at least one half where the model and the vote disagree. Null without
   * aligned labels (model runs with alignment "none") and for generation.
   */
  uncertainty: Uint8Array | null;
  /** With autoContext: how each of the structure's given pairs scored, and which were used. */
  contextChoice: ContextChoice | null;
  /** The pairs it used (the given objects: all, or the chosen ones); QC pair indices point into this list. */
  pairs: PairFiles[];
  /** Lesion methods only: the rule learned from the examples, lesion count and volumes (lesion-run.ts). */
  lesion?: LesionDetails;
}

export interface PipelineResult {
  method: Method;
  align: AlignMode;
  structures: PipelineStructureResult[];
  alignment: { registered: number; cached: number; referenceRegistered: number; seconds: number } | null;
  seconds: {
    align: number;
    choose: number;
    qc: number;
    preprocess: number;
    targetEncoder: number;
    context: number;
    decoder: number;
    vote: number;
    postprocess: number;
  };
  /** Model runs only. */
  choice: ProviderChoice | null;
  /** Checks of the aligned context (qc.ts), segmentation with alignment only; pair indices are the structure's. */
  qc: QcWarning[];
  /** Classical restoration runs: what it chose from the examples and how the examples fared (the guard). */
  restoration: RestorationOutcome | null;
}

/**
 * One click, whatever the method: context pairs aligned to the target (or not), then either the
 * in-context model (aligned pairs framed exactly as the target, by where their labels lie) or atlas
 * fusion by majority vote. Shared by `neuroverse run` and the app's runTask.
 */
export async function runPipeline(run: PipelineRun): Promise<PipelineResult> {
  if (run.structures.length === 0) throw new InputError(undefined, 'nothing to run: give at least one structure', 'usage');
  for (const s of run.structures) if (s.pairs.length === 0) throw new InputError(undefined, 'a structure needs at least one context pair', 'usage');
  const task = run.structures[0].task;
  if (run.structures.some((s) => s.task !== task)) throw new InputError(undefined, 'all structures of one run must have the same task', 'usage');
  if (isFusion(run.method) && task !== 'segment')
    throw new InputError(undefined, `--method ${run.method} fuses label maps: it applies to segmentation only`, 'usage');
  if (isRestoration(run.method)) {
    if (task !== 'generate') throw new InputError(undefined, `--method ${run.method} restores images: it applies to generation only`, 'usage');
    if (run.structures.length !== 1) throw new InputError(undefined, 'a restoration run takes one set of example pairs', 'usage');
    return runRestoration(run, run.method);
  }
  const seconds = { align: 0, choose: 0, qc: 0, preprocess: 0, targetEncoder: 0, context: 0, decoder: 0, vote: 0, postprocess: 0 };
  if (isLesionMethod(run.method)) return lesionRun(run, run.method, seconds);
  if (run.lesion) checkModelLesionRun(run);
  let choices: (ContextChoice | null)[] = run.structures.map(() => null);
  let ranking: AlignedSet | null = null;
  if (run.autoContext) {
    if (run.checkPairsFirst) await checkPairs(run);
    const chosen = await chooseContext(run);
    ranking = chosen.aligned;
    choices = chosen.choices;
    seconds.choose = chosen.seconds;
    run = { ...run, structures: chosen.structures, checkPairsFirst: false };
  }

  if (run.method === 'model' && run.align === 'none') {
    // Each pair framed by its own head box, as before alignment existed.
    const model = needModel(run);
    const r = await model.run(
      {
        target: run.target,
        targetFile: run.targetFile,
        structures: run.structures.map((s) => ({
          task: s.task,
          labels: s.labels,
          pairs: s.pairs.map((p) => ({ imageFile: p.imageFile, labelFile: p.labelFile })),
        })),
        miniContext: run.miniContext,
        memoryBudgetBytes: run.memoryBudgetBytes,
        checkPairsFirst: run.checkPairsFirst,
        // A model generation run restores in tiles over the head (model-runner.ts finds it, off this thread).
        tiles: task === 'generate' ? {} : undefined,
      },
      {
        signal: run.signal,
        onProgress: (p) => run.onProgress?.(inferProgress(p, 0, run.structures.length)),
      },
    );
    return {
      method: run.method,
      align: run.align,
      structures: r.structures.map((s, k) => ({
        ...s,
        baseline: null,
        uncertainty: null,
        contextChoice: null,
        pairs: run.structures[k].pairs,
        // The target is encoded once for all structures: its seconds go to the first.
        ...(run.lesion ? { lesion: modelLesionDetails(s.volume, { ...s.seconds, targetEncoder: k === 0 ? r.seconds.targetEncoder : 0 }) } : {}),
      })),
      alignment: null,
      seconds: { ...seconds, ...r.seconds },
      choice: r.choice,
      ...tiledGuard(run, r),
    };
  }

  if (!run.pool || !run.cache) throw new Error('aligned runs and atlas vote need a compute pool and a registration cache');
  if (run.checkPairsFirst) await checkPairs(run);
  // Every distinct pair once: structures of one set share their pairs (and so their registrations).
  const unique = new Map<string, PairFiles>();
  for (const s of run.structures) for (const p of s.pairs) unique.set(pairKey(p), p);
  run.onProgress?.({ stage: 'align', fraction: 0, pairsDone: 0, pairsTotal: unique.size, cached: false, seconds: 0, mode: run.align, choosing: false });
  const aligned = await alignPairs({
    pool: run.pool,
    cache: run.cache,
    target: run.target,
    mode: run.align,
    kind: task === 'segment' ? 'label' : 'image',
    pairs: [...unique.values()],
    // The checks compare each aligned image with the target, so segmentation resamples the images too.
    needImages: run.method === 'model' || task === 'segment',
    reference: run.reference,
    signal: run.signal,
    onProgress: (done, total, pair) =>
      run.onProgress?.({ stage: 'align', fraction: done / total, pairsDone: done, pairsTotal: total, ...pair, mode: run.align, choosing: false }),
  });
  await releaseRegistrationWorkers(run.pool);
  // Registrations made while ranking count as this run's (an affine run then finds them all cached).
  seconds.align = aligned.seconds + (ranking?.seconds ?? 0);
  const byKey = new Map(aligned.pairs.map((p) => [pairKey(p.source), p]));
  const alignment = {
    registered: aligned.registered + (ranking?.registered ?? 0),
    // An affine run reuses the ranking's own registrations: those are not cache hits of earlier runs.
    cached: ranking ? ranking.cached + (run.align === 'affine' ? 0 : aligned.cached) : aligned.cached,
    referenceRegistered: aligned.referenceRegistered + (ranking?.referenceRegistered ?? 0),
    seconds: seconds.align,
  };
  // The vote of each structure's aligned labels: the vote method's result, and beside the model its baseline,
  // doubt and frame; and the checks of the pairs. Structures sharing their pairs share one read of each map.
  const t0 = performance.now();
  const { votes, qc, qcSeconds } = await votesAndChecks(
    run,
    (p) => byKey.get(pairKey(p))!,
    (k) => run.onProgress?.({ stage: 'vote', fraction: null, structure: k, pairs: run.structures[k].pairs.length, method: 'vote' }),
  );
  seconds.qc = qcSeconds;
  seconds.vote = (performance.now() - t0) / 1000 - qcSeconds;

  if (isFusion(run.method)) {
    const fusion = fusionMethod(run.method);
    const t1 = performance.now();
    const fused = await fuseGroups(run, run.method, votes, (p) => byKey.get(pairKey(p))!);
    seconds.vote += (performance.now() - t1) / 1000;
    const structures: PipelineStructureResult[] = run.structures.map((s, k) => {
      const { mask, doubt } = fused[k]!;
      return {
        volume: maskOnTarget(run.target, mask, `${fusion.name} (${run.align}, ${s.pairs.length} pairs)`),
        task: s.task,
        contextSize: s.pairs.length,
        miniContext: null,
        baseline: null,
        uncertainty: doubt,
        contextChoice: choices[k],
        pairs: s.pairs,
      };
    });
    return { method: run.method, align: run.align, structures, alignment, seconds, choice: null, qc, restoration: null };
  }

  const model = needModel(run);
  const rule = model.manifest.alignedFrame ?? { around: 'labels', marginMm: BRAIN_MARGIN_MM };
  const onEngine = (structures: PipelineStructure[], box: VoxelBox | null, first: number) =>
    model.run(
      {
        target: run.target,
        targetFile: run.targetFile,
        structures: structures.map((s) => ({
          task: s.task,
          labels: s.labels,
          pairs: s.pairs.map((p) => {
            const a = byKey.get(pairKey(p))!;
            // Errors name the user's files, not the cache copies they are read from.
            return { imageFile: p.imageFile, labelFile: p.labelFile, readImageFile: a.imageFile, readLabelFile: a.labelFile };
          }),
        })),
        miniContext: run.miniContext,
        memoryBudgetBytes: run.memoryBudgetBytes,
        pairsOnTargetGrid: true,
        frame: box ? { box, marginMm: rule.marginMm } : undefined,
        // A model generation run restores in tiles over the head (model-runner.ts finds it, off this thread).
        tiles: task === 'generate' ? {} : undefined,
      },
      {
        signal: run.signal,
        onProgress: (p) => run.onProgress?.(inferProgress(p, first, run.structures.length)),
      },
    );
  let r: TaskRunResult;
  if (rule.around === 'structure' && task === 'segment') {
    // One engine run per structure, each framed where that structure's warped context labels lie: a small
    // structure gets fine voxels instead of a share of a brain-sized grid (the model was trained so).
    const parts = [];
    for (let k = 0; k < run.structures.length; k++) {
      const s = run.structures[k];
      parts.push(await onEngine([s], votes[k]!.box, k));
    }
    r = { ...parts[0], structures: parts.flatMap((p) => p.structures), seconds: sumSeconds(parts.map((p) => p.seconds)) };
  } else {
    r = await onEngine(run.structures, aligned.labelBox, 0);
  }
  const t = performance.now();
  const structures: PipelineStructureResult[] = [];
  for (let k = 0; k < r.structures.length; k++) {
    const s = r.structures[k];
    let baseline: PipelineStructureResult['baseline'] = null;
    let uncertainty: Uint8Array | null = null;
    if (s.task === 'segment') {
      const v = votes[k]!;
      baseline = agreement(s.volume.data, v.mask);
      uncertainty = v.doubt;
      const half = Math.ceil(DOUBT_SCALE / 2);
      for (let i = 0; i < uncertainty.length; i++) if ((s.volume.data[i] > 0 ? 1 : 0) !== v.mask[i] && uncertainty[i] < half) uncertainty[i] = half;
    }
    structures.push({ ...s, baseline, uncertainty, contextChoice: choices[k], pairs: run.structures[k].pairs });
  }
  seconds.vote += (performance.now() - t) / 1000;
  return {
    method: run.method,
    align: run.align,
    structures,
    alignment,
    seconds: { ...seconds, ...r.seconds, vote: seconds.vote },
    choice: r.choice,
    ...tiledGuard(run, r, qc),
  };
}

/**
 * A model generation run in tiles reports as a restoration does: its settings and the guard (each example
 * restored from the others, engine/run-tiles.ts). A model that makes its examples worse keeps its result (it was
 * asked for, or the task has no classical restoration) with the QC warning restoration-harms.
 */
function tiledGuard(run: PipelineRun, r: TaskRunResult, qc: QcWarning[] = []): { qc: QcWarning[]; restoration: RestorationOutcome | null } {
  const t = r.tiled;
  if (!t) return { qc, restoration: null };
  const pairs = run.structures[0].pairs;
  const examples = t.examples.map((e) => ({
    name: run.pairName?.(pairs[e.pair]) ?? basename(pairs[e.pair].imageFile),
    inputPsnr: round2(e.inputPsnr),
    outputPsnr: round2(e.outputPsnr),
  }));
  const guard = examples.length
    ? verdictOf(examples, 'the model')
    : { passed: true, message: 'not checked (the guard restores each example from the others: it needs two pairs or more)' };
  const harms = guard.passed
    ? []
    : [{ kind: 'restoration-harms' as const, structure: 0, message: `${guard.message}; the result is written, but do not trust it` }];
  return {
    qc: [...qc, ...harms],
    restoration: {
      method: 'model',
      why: `${t.tiles} tiles of ${t.voxelMm.toFixed(2)} mm`,
      settings: { tiles: t.tiles, voxelMm: Math.round(t.voxelMm * 1000) / 1000, overlap: t.overlap, guardTiles: t.guardTiles },
      examples,
      guard,
      applied: true,
    },
  };
}

function round2(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : x;
}

/**
 * Aligns every candidate pair affinely (images too), ranks them per structure (context-choice.ts) and keeps
 * the best n of each structure's pairs, in their given order. Structures with the same pairs share one ranking.
 */
async function chooseContext(run: PipelineRun): Promise<{ structures: PipelineStructure[]; choices: ContextChoice[]; aligned: AlignedSet; seconds: number }> {
  const { n, headerMatch } = run.autoContext!;
  if (!(Number.isInteger(n) && n >= 1)) throw new InputError(undefined, `the number of context pairs to choose must be a positive integer (got ${n})`, 'usage');
  if (run.align === 'none') throw new InputError(undefined, 'choosing the context compares the aligned images: use alignment affine or deformable', 'usage');
  if (!run.pool || !run.cache) throw new Error('choosing the context needs a compute pool and a registration cache');
  const task = run.structures[0].task;
  const unique = new Map<string, PairFiles>();
  for (const s of run.structures) for (const p of s.pairs) unique.set(pairKey(p), p);
  run.onProgress?.({ stage: 'align', fraction: 0, pairsDone: 0, pairsTotal: unique.size, cached: false, seconds: 0, mode: 'affine', choosing: true });
  const aligned = await alignPairs({
    pool: run.pool,
    cache: run.cache,
    target: run.target,
    mode: 'affine',
    kind: task === 'segment' ? 'label' : 'image',
    pairs: [...unique.values()],
    needImages: true,
    reference: run.reference,
    signal: run.signal,
    onProgress: (done, total, pair) =>
      run.onProgress?.({ stage: 'align', fraction: done / total, pairsDone: done, pairsTotal: total, ...pair, mode: 'affine', choosing: true }),
  });
  await releaseRegistrationWorkers(run.pool);
  const t0 = performance.now();
  const byKey = new Map(aligned.pairs.map((p) => [pairKey(p.source), p]));
  const choices: ContextChoice[] = new Array(run.structures.length);
  for (const members of samePairGroups(run.structures)) {
    const pairs = run.structures[members[0]].pairs;
    const files = pairs.map((p) => byKey.get(pairKey(p))!);
    const ranked = await rankContext(
      run.target,
      {
        count: pairs.length,
        readImage: (i) => readNifti(files[i].imageFile),
        readLabel: (i) => readNifti(files[i].labelFile),
        headerMatch: headerMatch ? pairs.map(headerMatch) : undefined,
      },
      members.map((k) => (task === 'segment' ? run.structures[k].labels : undefined)),
      n,
      run.signal,
    );
    members.forEach((k, j) => (choices[k] = ranked[j]));
  }
  const structures = run.structures.map((s, k) => ({ ...s, pairs: s.pairs.filter((_, i) => choices[k].scores[i].chosen) }));
  return { structures, choices, aligned, seconds: (performance.now() - t0) / 1000 };
}

/**
 * The vote of every segmentation structure (null for generation) and the checks of its aligned pairs (qc.ts),
 * structures with the same pair list together, so each aligned label map is read once for both.
 */
async function votesAndChecks(
  run: PipelineRun,
  alignedOf: (p: PairFiles) => PairFiles,
  onGroup: (structure: number) => void,
): Promise<{ votes: (VoteResult | null)[]; qc: QcWarning[]; qcSeconds: number }> {
  const votes: (VoteResult | null)[] = run.structures.map(() => null);
  const qc: QcWarning[] = [];
  let qcSeconds = 0;
  for (const members of samePairGroups(run.structures, (s) => s.task === 'segment')) {
    const pairs = run.structures[members[0]].pairs;
    onGroup(members[0]);
    const files = pairs.map(alignedOf);
    const checks = new ContextQc(
      run.target,
      pairs.length,
      members.map((k) => ({ name: run.structures[k].name ?? `labels ${run.structures[k].labels?.join(', ') ?? 'all'}`, labels: run.structures[k].labels })),
    );
    const r = await majorityVotes(
      files.length,
      async (i) => {
        const label = await readNifti(files[i].labelFile);
        checks.addLabel(i, label);
        return label;
      },
      members.map((k) => run.structures[k].labels),
      run.signal,
    );
    members.forEach((k, j) => (votes[k] = r[j]));
    const t = performance.now();
    const found = await checks.finish(
      { readImage: (i) => readNifti(files[i].imageFile), name: (i) => run.pairName?.(pairs[i]) ?? basename(pairs[i].imageFile) },
      run.signal,
    );
    qcSeconds += (performance.now() - t) / 1000;
    qc.push(...found.map((w) => ({ ...w, structure: members[w.structure] })));
  }
  return { votes, qc, qcSeconds };
}

/** The fusion method's result per segmentation structure, structures with the same pairs in one call. */
async function fuseGroups(
  run: PipelineRun,
  id: FusionId,
  votes: (VoteResult | null)[],
  alignedOf: (p: PairFiles) => PairFiles,
): Promise<(VoteResult | null)[]> {
  const method = fusionMethod(id);
  const out: (VoteResult | null)[] = run.structures.map(() => null);
  for (const members of samePairGroups(run.structures, (s) => s.task === 'segment')) {
    const pairs = run.structures[members[0]].pairs;
    run.onProgress?.({ stage: 'vote', fraction: null, structure: members[0], pairs: pairs.length, method: method.name });
    const fused = await method.fuse({
      target: run.target,
      pairs: pairs.map((p) => {
        const a = alignedOf(p);
        return { imageFile: a.imageFile, labelFile: a.labelFile, name: run.pairName?.(p) ?? basename(p.imageFile) };
      }),
      structures: members.map((k) => ({ labels: run.structures[k].labels, vote: votes[k]! })),
      synthetic: run.syntheticPairs,
      signal: run.signal,
    });
    members.forEach((k, j) => (out[k] = fused[j]));
  }
  return out;
}

/**
 * Once the pairs are aligned, the registration workers are ended: an idle worker runs no garbage collection, so
 * what its last job left (its elastix instances' heaps among it, up to ~0.4 GB at 256³) would sit under the fusion
 * or the model, and more of it the more jobs it ran; the next alignment starts fresh workers (about a second each).
 */
function releaseRegistrationWorkers(pool: ComputePool<RegistrationJobs>): Promise<void> {
  return pool.releaseIdle();
}

/** Indices of the structures (those `keep` accepts) grouped by identical pair lists: one read of each pair serves a group. */
function samePairGroups(structures: PipelineStructure[], keep: (s: PipelineStructure) => boolean = () => true): number[][] {
  const groups = new Map<string, number[]>();
  structures.forEach((s, k) => {
    if (!keep(s)) return;
    const key = s.pairs.map(pairKey).join('\u0001');
    groups.set(key, [...(groups.get(key) ?? []), k]);
  });
  return [...groups.values()];
}

function sumSeconds(parts: PhaseSeconds[]): PhaseSeconds {
  const out = { ...parts[0] };
  for (const p of parts.slice(1)) for (const k of Object.keys(out) as (keyof PhaseSeconds)[]) out[k] += p[k];
  return out;
}

/** Voxels of the vote's mask and the Dice between it and the model's. */
function agreement(model: ArrayLike<number>, vote: Uint8Array): { voxels: number; agreement: number } {
  let a = 0;
  let b = 0;
  let ab = 0;
  for (let i = 0; i < vote.length; i++) {
    const x = model[i] > 0;
    const y = vote[i] > 0;
    if (x) a++;
    if (y) b++;
    if (x && y) ab++;
  }
  return { voxels: b, agreement: a + b === 0 ? 1 : Math.round(((2 * ab) / (a + b)) * 1000) / 1000 };
}

/** The engine's progress (structure 1-based within its call) as the run's: structure index and overall fraction. */
function inferProgress(p: ModelProgress, first: number, structures: number): PipelineProgress {
  const structure = first + p.structure - 1;
  const done = p.tile && p.tiles ? (p.tile - 1 + p.pairsDone / p.pairsTotal) / p.tiles : p.pairsDone / p.pairsTotal;
  return {
    stage: 'mini-context',
    ...(p.tile && p.tiles ? { tile: p.tile, tiles: p.tiles } : {}),
    fraction: (structure + done) / structures,
    structure,
    miniContext: p.miniContext,
    miniContexts: p.miniContexts,
    pairsDone: p.pairsDone,
    pairsTotal: p.pairsTotal,
  };
}

function needModel(run: PipelineRun): ModelRunner {
  if (!run.model) throw new Error('method "model" needs an open model');
  const task = run.structures[0].task;
  const m = run.model.manifest;
  if (!m.tasks.includes(task)) throw new InputError(undefined, `model "${m.name}" was not trained for task "${task}" (manifest tasks: ${m.tasks.join(', ')})`);
  return run.model;
}

function pairKey(p: PairFiles): string {
  return `${p.imageFile}\u0000${p.labelFile}`;
}

/** The same grid and label checks the engine makes, before any registration starts. */
async function checkPairs(run: PipelineRun): Promise<void> {
  for (const s of run.structures) {
    for (let i = 0; i < s.pairs.length; i++) {
      run.signal?.throwIfAborted();
      const p = s.pairs[i];
      const image = await readNifti(p.imageFile);
      const label = await readNifti(p.labelFile);
      checkContextPair({ image, label, ...p }, s.task, s.labels, i);
    }
  }
}

function maskOnTarget(target: Volume, mask: Uint8Array, description: string): Volume {
  return volumeOnGrid(target, mask, description);
}

/** What a model's lesion run cannot be: aligned, or more than the one channel the model reads. */
function checkModelLesionRun(run: PipelineRun): void {
  if (run.method !== 'model') throw new InputError(undefined, `a lesion run uses the model or a lesion method (got "${run.method}")`, 'usage');
  if (run.align !== 'none')
    throw new InputError(
      undefined,
      `a lesion run with the model is not aligned (got alignment ${run.align}): a lesion is not where the examples' lesions are`,
      'usage',
    );
  if (run.autoContext) throw new InputError(undefined, 'choosing the context ranks aligned images: it does not apply to lesion runs', 'usage');
  const extra = run.structures.flatMap((s) => s.pairs).find((p) => (p as LesionPairFiles).channelFiles?.length);
  if (run.targetChannels?.length || extra)
    throw new InputError(
      extra?.imageFile,
      'the model reads one channel (FLAIR or the like): give further channels to the classifier or threshold only',
      'usage',
    );
  for (const s of run.structures)
    if (s.task !== 'segment') throw new InputError(undefined, 'a lesion run segments: it applies to --task segment only', 'usage');
}

/**
 * Lesion methods (lesion-run.ts): every structure learned from its own examples in a lesion worker, no alignment and
 * no anatomy QC. Seconds: reading and features count as preprocess, fitting and choosing the cleanup as context,
 * classifying the target as decoder.
 */
async function lesionRun(run: PipelineRun, method: LesionMethod, seconds: PipelineResult['seconds']): Promise<PipelineResult> {
  if (run.align !== 'none')
    throw new InputError(
      undefined,
      `--method ${method} learns from the examples' voxels where they are: use --align none (a lesion is not where the examples' lesions are)`,
      'usage',
    );
  if (run.autoContext) throw new InputError(undefined, 'choosing the context ranks aligned images: it does not apply to lesion methods', 'usage');
  const structures: PipelineStructureResult[] = [];
  for (const [k, s] of run.structures.entries()) {
    if (s.task !== 'segment') throw new InputError(undefined, `--method ${method} segments lesions: it applies to --task segment only`, 'usage');
    const r = await runLesionPipeline({
      method,
      target: run.target,
      targetFile: run.targetFile,
      targetChannels: run.targetChannels,
      pairs: s.pairs,
      labels: s.labels,
      pool: run.lesionPool,
      signal: run.signal,
      onProgress: (f, m) => run.onProgress?.({ stage: 'lesion', fraction: f, structure: k, step: m }),
    });
    seconds.preprocess += r.details.seconds.read + r.details.seconds.features;
    seconds.context += r.details.seconds.fit + r.details.seconds.validate;
    seconds.decoder += r.details.seconds.predict;
    structures.push({
      volume: r.volume,
      task: s.task,
      contextSize: s.pairs.length,
      miniContext: null,
      baseline: null,
      uncertainty: null,
      contextChoice: null,
      pairs: s.pairs,
      lesion: r.details,
    });
  }
  return { method, align: run.align, structures, alignment: null, seconds, choice: null, qc: [], restoration: null };
}
