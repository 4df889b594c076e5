import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ComputePool } from '../compute/pool.js';
import { workerScript } from '../compute/worker-script.js';
import { InferenceEngine } from '../engine/inference-engine.js';
import type { LazyContextPair, StructureInput } from '../engine/inference-engine.js';
import type { Manifest } from '../engine/package/manifest.js';
import type { Task } from '../common/task.js';
import { readManifest } from '../engine/package/load-package.js';
import type { DeviceRequest, PrecisionRequest } from '../engine/runtime/device.js';
import type { ContextProgress } from '../engine/runtime/inference.js';
import { runTaskOnEngine } from '../engine/run-task.js';
import { runTilesOnEngine } from '../engine/run-tiles.js';
import type { TaskRunResult } from '../engine/run-task.js';
import { readNiftiInWorker } from '../imaging/nifti/read.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import { realValues } from '../engine/processing/intensity.js';
import { headAndNoise } from '../restoration/denoise.js';
import { maskBox } from '../restoration/head-mask.js';
import type { VoxelBox } from '../imaging/voxel-box.js';

/** One context pair: the files errors name (the user's), and where to read it from (e.g. the registration cache). */
export interface ModelPairFiles {
  imageFile: string;
  labelFile: string;
  readImageFile?: string;
  readLabelFile?: string;
}

/** Everything one model call needs, as plain data: it may cross to a worker thread. */
export interface ModelJob {
  target: Volume;
  targetFile?: string;
  structures: { task: Task; labels?: number[]; pairs: ModelPairFiles[] }[];
  miniContext?: number | 'auto';
  memoryBudgetBytes?: number;
  checkPairsFirst?: boolean;
  pairsOnTargetGrid?: boolean;
  frame?: { box: VoxelBox; marginMm: number };
  /**
   * Generation in tiles near the native resolution over a box of the target (default: the head's box, found
   * where the job runs), each tile's context the same tile of every pair (which must be on the target's grid);
   * outside the box the input is kept (engine/run-tiles.ts). One structure, task generate.
   */
  tiles?: { box?: VoxelBox; overlap?: number; voxelMm?: number };
}

export type ModelProgress = { structure: number; structures: number } & ContextProgress;

/**
 * The in-context model as the pipeline uses it: in this thread (tests, the official checkpoint's parity
 * checks) or in a compute worker, so that ONNX Runtime's synchronous run() and the pre-processing loops never
 * stall the thread that serves the UI (issue 13). Cancel is the signal: in both cases the run stops between
 * session calls (a worker is never terminated inside ONNX Runtime, which would abort the whole process).
 */
export interface ModelRunner {
  readonly manifest: Manifest;
  readonly modelDir: string;
  run(job: ModelJob, opts?: { signal?: AbortSignal; onProgress?: (p: ModelProgress) => void }): Promise<TaskRunResult>;
  close(): Promise<void>;
}

function lazyPairs(pairs: ModelPairFiles[]): LazyContextPair[] {
  return pairs.map((p) => {
    const image = p.readImageFile ?? p.imageFile;
    const label = p.readLabelFile ?? p.labelFile;
    const ids = [fileIdentity(image), fileIdentity(label)];
    return {
      imageFile: p.imageFile,
      labelFile: p.labelFile,
      // Both files are inflated at once on libuv's thread pool (the pair is held whole either way), while the
      // engine works on the pair before (run-task's readAhead). Read blocking: the model runs off the UI's thread
      // (in its worker; in process only for tests and parity checks, whose engine blocks its thread anyway).
      load: async () => {
        const [i, l] = await Promise.all([readNiftiInWorker(image), readNiftiInWorker(label)]);
        return { image: i, label: l };
      },
      identity: ids[0] && ids[1] ? { image: ids[0], label: ids[1] } : undefined,
    };
  });
}

/** A file as a cache key: a rewritten file (new size or time) is another key. Undefined if it cannot be read. */
function fileIdentity(file: string): string | undefined {
  try {
    const s = statSync(file);
    return `${resolve(file)}:${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

function lazyStructures(job: ModelJob): StructureInput[] {
  return job.structures.map((s) => ({ task: s.task, labels: s.labels, pairs: lazyPairs(s.pairs) }));
}

function onEngine(
  engine: InferenceEngine,
  job: ModelJob,
  signal?: AbortSignal,
  onProgress?: (p: ModelProgress) => void,
  structures = lazyStructures(job),
): Promise<TaskRunResult> {
  if (job.tiles) {
    if (structures.length !== 1 || structures[0].task !== 'generate') throw new Error('tiled runs restore one generation task');
    return runTilesOnEngine(engine, {
      target: job.target,
      targetFile: job.targetFile,
      pairs: structures[0].pairs as LazyContextPair[],
      box: job.tiles.box ?? headBox(job.target),
      overlap: job.tiles.overlap,
      voxelMm: job.tiles.voxelMm,
      miniContext: job.miniContext,
      memoryBudgetBytes: job.memoryBudgetBytes,
      signal,
      onProgress,
    });
  }
  return runTaskOnEngine(engine, {
    target: job.target,
    targetFile: job.targetFile,
    structures,
    miniContext: job.miniContext,
    memoryBudgetBytes: job.memoryBudgetBytes,
    checkPairsFirst: job.checkPairsFirst,
    pairsOnTargetGrid: job.pairsOnTargetGrid,
    frame: job.frame,
    signal,
    onProgress,
  });
}

/**
 * The head's bounding box, the head found as the classical restorations find it (restoration/denoise.ts): a model
 * generation run restores there and keeps the input outside, as they do. The whole volume when no head is found.
 * Found here, in the model's worker, so a 256³ head's few seconds of mask do not hold the thread that serves the UI.
 */
function headBox(target: Volume): VoxelBox {
  const dims = spatialDims(target) as [number, number, number];
  const found = maskBox(headAndNoise(realValues(target), dims).mask, dims);
  if (!found) return { lo: [0, 0, 0], hi: [dims[0] - 1, dims[1] - 1, dims[2] - 1] };
  return { lo: [found[0], found[1], found[2]], hi: [found[3] - 1, found[4] - 1, found[5] - 1] };
}

/**
 * A lazy pair whose read starts now; its first `load` hands over that read, later ones read again (nothing is
 * kept, so memory stays flat in the number of pairs).
 */
function readStarted(p: LazyContextPair): LazyContextPair {
  let started: ReturnType<LazyContextPair['load']> | undefined = p.load();
  // Unreported if nobody takes it (the engine failed to open).
  started.catch(() => {});
  return {
    ...p,
    load: () => {
      const read = started ?? p.load();
      started = undefined;
      return read;
    },
  };
}

/** The model in this thread, on an engine the caller opened. */
export function inProcessRunner(engine: InferenceEngine): ModelRunner {
  return {
    manifest: engine.manifest,
    modelDir: engine.pkg.dir,
    run: (job, opts = {}) => onEngine(engine, job, opts.signal, opts.onProgress),
    close: () => engine.release(),
  };
}

/** The job of the model's compute worker (model-worker.ts). */
export type ModelJobs = { infer: { payload: InferPayload; result: TaskRunResult; progress: ModelProgress } };

interface InferPayload {
  modelDir: string;
  device: DeviceRequest;
  precision: PrecisionRequest;
  job: ModelJob;
}

/**
 * The model in one compute worker (a thread of its own; ONNX Runtime still uses every core inside it). The
 * worker keeps its engine open between jobs; a cancelled job costs the next one a session start.
 */
export async function workerRunner(modelDir: string, device: DeviceRequest, precision: PrecisionRequest = 'auto'): Promise<ModelRunner> {
  const manifest = await readManifest(modelDir);
  const pool = new ComputePool<ModelJobs>(workerScript(import.meta.url, 'model-worker'), 1);
  return {
    manifest,
    modelDir,
    async run(job, opts = {}) {
      const payload: InferPayload = { modelDir, device, precision, job };
      return pool.run('infer', payload, {
        signal: opts.signal,
        // Terminating a thread inside ONNX Runtime aborts the whole process: cancel between session calls.
        cancelBy: 'message',
        onProgress: opts.onProgress,
      });
    },
    close: () => pool.close(),
  };
}

let open: { key: string; engine: InferenceEngine } | null = null;

/** Worker side of `workerRunner`: the job on this worker's engine, result voxels moved back, not copied. */
export async function inferJob(
  payload: InferPayload,
  progress: (p: ModelProgress) => void,
  signal: AbortSignal,
): Promise<{ value: TaskRunResult; transfer: ArrayBuffer[] }> {
  const key = `${payload.modelDir}\u0000${payload.device}\u0000${payload.precision}`;
  const structures = lazyStructures(payload.job);
  if (open?.key !== key) {
    // Opening the engine holds this thread (ONNX Runtime builds its sessions): the first pair the run checks
    // first is inflated on the thread pool meanwhile.
    if (payload.job.checkPairsFirst) {
      const first = structures[0]?.pairs[0];
      if (first && 'load' in first) structures[0].pairs[0] = readStarted(first);
    }
    await open?.engine.release();
    open = { key, engine: await InferenceEngine.open(payload.modelDir, payload.device, payload.precision) };
  }
  signal.throwIfAborted();
  const result = await onEngine(open.engine, payload.job, signal, progress, structures);
  const transfer = result.structures.map((s) => s.volume.data.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
  return { value: result, transfer: [...new Set(transfer)] };
}
