import * as ort from 'onnxruntime-node';
import { CancelledError } from '../../common/errors.js';
import { RunningMean } from '../apsp/running-mean.js';
import { partitionContext } from '../apsp/mini-contexts.js';
import { io } from '../model/build-graphs.js';
import { collectGarbage } from './collect-garbage.js';
import type { ModelSessions } from './model-sessions.js';

export type Grid = readonly [number, number, number];

/** A context pair already on the model grid and normalised: image and label/output, x fastest. */
export interface GridPair {
  image: Float32Array;
  label: Float32Array;
}

/**
 * The target encoder's outputs for one target. It depends on the target image only, so it is computed
 * once and reused for every structure/task run on that target (issue 3, "several structures").
 */
export interface TargetEncoding {
  grid: Grid;
  features: ort.Tensor[];
  bottleneck: ort.Tensor;
}

/**
 * Where the context pairs come from: an array already on the grid, or a loader called once per pair when its
 * mini-context is due, so only one mini-context of inputs is in memory at a time (APSP's point).
 */
export type PairSource = readonly GridPair[] | { count: number; load(index: number): Promise<GridPair> };

function pairCount(p: PairSource): number {
  return 'count' in p ? p.count : p.length;
}

async function loadPair(p: PairSource, i: number): Promise<GridPair> {
  return 'count' in p ? p.load(i) : p[i];
}

export interface ContextProgress {
  miniContext: number;
  miniContexts: number;
  pairsDone: number;
  pairsTotal: number;
  /** Tiled generation (run-tiles.ts): which tile (1-based) of how many; the counts above are that tile's. */
  tile?: number;
  tiles?: number;
}

export interface ContextOptions {
  /** Mini-context size l (1..L). */
  miniContext: number;
  /** Permutation of the pairs before partitioning; the result must not depend on it. */
  order?: readonly number[];
  signal?: AbortSignal;
  onProgress?: (p: ContextProgress) => void;
}

/** ORT's tensor shape convention is [z, y, x] for an x-fastest volume: the last axis varies fastest. */
function spatialShape(grid: Grid): number[] {
  return [grid[2], grid[1], grid[0]];
}

export async function encodeTarget(s: ModelSessions, image: Float32Array, grid: Grid): Promise<TargetEncoding> {
  checkLength(image, grid, 'target');
  const out = await s.encoder.run({ [io.targetImage]: new ort.Tensor('float32', image, [1, 1, ...spatialShape(grid)]) });
  const features: ort.Tensor[] = [];
  for (let r = 0; io.targetFeature(r) in out; r++) features.push(out[io.targetFeature(r)] as ort.Tensor);
  return { grid, features, bottleneck: out[io.targetBottleneck] as ort.Tensor };
}

/**
 * APSP over the context set (Algorithm 1): the context branch runs once per mini-context and its pair
 * means are folded into a running weighted mean. Only one mini-context's activations exist at a time.
 * Cancellation is checked between mini-contexts (an ORT run itself cannot be interrupted).
 */
export async function encodeContext(s: ModelSessions, target: TargetEncoding, pairs: PairSource, opts: ContextOptions): Promise<Float32Array[]> {
  const L = pairCount(pairs);
  const chunks = partitionContext(L, Math.min(opts.miniContext, L), opts.order);
  const voxels = target.grid[0] * target.grid[1] * target.grid[2];
  const mean = new RunningMean();
  const featureFeeds: Record<string, ort.Tensor> = {};
  target.features.forEach((f, r) => (featureFeeds[io.targetFeature(r)] = f));
  for (let j = 0; j < chunks.length; j++) {
    if (opts.signal?.aborted) throw new CancelledError('inference');
    const chunk = chunks[j];
    const images = new Float32Array(chunk.length * voxels);
    const labels = new Float32Array(chunk.length * voxels);
    for (let i = 0; i < chunk.length; i++) {
      const pair = await loadPair(pairs, chunk[i]);
      checkLength(pair.image, target.grid, `context image ${chunk[i] + 1}`);
      checkLength(pair.label, target.grid, `context label ${chunk[i] + 1}`);
      images.set(pair.image, i * voxels);
      labels.set(pair.label, i * voxels);
    }
    await runMiniContext(s, featureFeeds, images, labels, [1, chunk.length, 1, ...spatialShape(target.grid)], mean);
    // The call's output buffers are unreachable only now that runMiniContext has returned.
    collectGarbage();
    opts.onProgress?.({ miniContext: j + 1, miniContexts: chunks.length, pairsDone: mean.pairs, pairsTotal: L });
  }
  return mean.result();
}

async function runMiniContext(
  s: ModelSessions,
  featureFeeds: Record<string, ort.Tensor>,
  images: Float32Array,
  labels: Float32Array,
  dims: number[],
  mean: RunningMean,
): Promise<void> {
  const out = await s.context.run({
    [io.contextImages]: new ort.Tensor('float32', images, dims),
    [io.contextLabels]: new ort.Tensor('float32', labels, dims),
    ...featureFeeds,
  });
  const means: Float32Array[] = [];
  for (let k = 0; io.contextMean(k) in out; k++) means.push((out[io.contextMean(k)] as ort.Tensor).data as Float32Array);
  mean.merge(means, dims[1]);
  for (const t of Object.values(out)) t.dispose();
}

export async function decode(s: ModelSessions, target: TargetEncoding, contextMeans: Float32Array[]): Promise<Float32Array> {
  const feeds: Record<string, ort.Tensor> = { [io.targetBottleneck]: target.bottleneck };
  target.features.forEach((f, r) => (feeds[io.targetFeature(r)] = f));
  const levels = contextMeans.length;
  contextMeans.forEach((m, k) => {
    // ctx_mean_k has the shape of the feature at level (levels-1-k); the bottleneck for k = 0.
    const like = k === 0 ? target.bottleneck : target.features[levels - 1 - k];
    feeds[io.contextMean(k)] = new ort.Tensor('float32', m, like.dims as number[]);
  });
  const out = await s.decoder.run(feeds);
  return (out[io.prediction] as ort.Tensor).data as Float32Array;
}

export function releaseEncoding(t: TargetEncoding): void {
  for (const f of t.features) f.dispose();
  t.bottleneck.dispose();
}

function checkLength(a: Float32Array, grid: Grid, what: string): void {
  const n = grid[0] * grid[1] * grid[2];
  if (a.length !== n) throw new Error(`${what}: ${a.length} voxels, model grid ${grid.join('×')} needs ${n}`);
}
