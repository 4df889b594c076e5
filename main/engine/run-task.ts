import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import type { Volume } from '../imaging/volume.js';
import type { InferenceEngine, LazyContextPair, PhaseSeconds, RunResult, StructureInput } from './inference-engine.js';
import type { VoxelBox } from './processing/foreground-box.js';
import type { ContextProgress } from './runtime/inference.js';
import { readAhead } from '../util/read-ahead.js';

/**
 * One "click": a target, one or more structures with their context pairs, on an open engine. Shared by
 * `neuroverse run` and the app's runTask API so both check input, share the target encoding and report the
 * same per-phase seconds.
 */
export interface TaskRun {
  target: Volume;
  /** Where the target came from, for error messages. */
  targetFile?: string;
  structures: StructureInput[];
  miniContext?: number | 'auto';
  memoryBudgetBytes?: number;
  signal?: AbortSignal;
  /**
   * Load and check every lazy pair before any compute, so that bad input fails fast (the CLI's files).
   * A caller whose pairs were checked when they were stored (the context library) may skip it.
   */
  checkPairsFirst?: boolean;
  /** Pairs already on the target's voxel grid (aligned); the target is framed by `frame`. */
  pairsOnTargetGrid?: boolean;
  frame?: { box: VoxelBox; marginMm: number };
  onProgress?: (p: { structure: number; structures: number } & ContextProgress) => void;
}

/** The engine's result with the task's own clock: pair reads and the first target preparation included. */
export interface TaskRunResult extends RunResult {
  seconds: PhaseSeconds;
  /** Generation in tiles (run-tiles.ts): how it was tiled and how the examples fared. */
  tiled?: TiledDetails;
}

/** How the model did on one example (its index among the pairs), left out of its own context: PSNR of input and output. */
export interface TileExampleScore {
  pair: number;
  inputPsnr: number;
  outputPsnr: number;
}

export interface TiledDetails {
  tiles: number;
  /** Model voxel edge (mm) and minimum overlap of neighbouring tiles (model voxels). */
  voxelMm: number;
  overlap: number;
  /** Tiles per example the guard restored (0: no guard, fewer than two pairs). */
  guardTiles: number;
  /** The guard's scores, one per example. */
  examples: TileExampleScore[];
}

export async function runTaskOnEngine(engine: InferenceEngine, run: TaskRun): Promise<TaskRunResult> {
  if (run.structures.length === 0) throw new InputError(undefined, 'nothing to run: give at least one structure', 'usage');
  for (const s of run.structures) {
    if (!engine.manifest.tasks.includes(s.task)) {
      throw new InputError(
        undefined,
        `model "${engine.manifest.name}" was not trained for task "${s.task}" (manifest tasks: ${engine.manifest.tasks.join(', ')})`,
      );
    }
    if (s.pairs.length === 0) throw new InputError(undefined, 'a structure needs at least one context pair', 'usage');
  }
  const t = performance.now();
  // The pairs' files are read one ahead (readAhead), the first while the target is prepared here: reading is
  // inflating on libuv's thread pool, so on two cores it overlaps this thread's checks and resampling.
  const pairs = run.checkPairsFirst ? run.structures.flatMap((s) => s.pairs.map((p, i) => ({ s, p, i }))) : [];
  const reads = readAhead(pairs, async ({ p }) => (isLazy(p) ? { ...(await p.load()), imageFile: p.imageFile, labelFile: p.labelFile } : p));
  const prepared = engine.prepareTarget(run.target, run.targetFile, run.frame);
  for await (const { item, value: loaded } of reads) {
    if (run.signal?.aborted) break;
    const { s, p, i } = item;
    // Pairs placed by their own image (not on the target's grid) are prepared while their volumes are in
    // memory: the run would otherwise read every file a second time.
    if (!isLazy(p) || run.pairsOnTargetGrid) engine.checkPair(loaded, s, i);
    else await engine.checkAndPreparePair(p, loaded, s, i);
  }
  const prepare = (performance.now() - t) / 1000;
  const result = await engine.run(prepared, run.structures, {
    miniContext: run.miniContext ?? 'auto',
    memoryBudgetBytes: run.memoryBudgetBytes,
    signal: run.signal,
    pairsOnTargetGrid: run.pairsOnTargetGrid,
    onProgress: run.onProgress,
  });
  const sum = (k: 'preprocess' | 'context' | 'decoder' | 'postprocess') => result.structures.reduce((a, s) => a + s.seconds[k], 0);
  return {
    ...result,
    seconds: {
      preprocess: prepare + sum('preprocess'),
      targetEncoder: result.targetEncoderSeconds,
      context: sum('context'),
      decoder: sum('decoder'),
      postprocess: sum('postprocess'),
    },
  };
}

function isLazy(p: StructureInput['pairs'][number]): p is LazyContextPair {
  return 'load' in p;
}
