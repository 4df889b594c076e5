import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { lapTimer } from '../util/lap-timer.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import { mappedLayout } from '../imaging/reorient.js';
import { orientBox, sample } from './inference-engine.js';
import type { InferenceEngine, LazyContextPair } from './inference-engine.js';
import type { TaskRunResult, TiledDetails, TileExampleScore } from './run-task.js';
import type { VoxelBox } from './processing/foreground-box.js';
import { denseLayout } from './processing/grid-fit.js';
import { rangeNormalizer, realValues, volumeQuantiles } from './processing/intensity.js';
import { checkPairGrid } from './processing/pair-checks.js';
import { accumulateTile, tileCount, tileLayout, tilesOf } from './processing/tiles.js';
import type { TileLayout } from './processing/tiles.js';
import { decode, encodeContext, encodeTarget, releaseEncoding } from './runtime/inference.js';
import type { ContextProgress, Grid, GridPair } from './runtime/inference.js';
import type { ModelSessions } from './runtime/model-sessions.js';

/**
 * A generation run in tiles near the native resolution (issue 23): the box (the head) is covered by overlapping
 * model-grid tiles of native-sized voxels instead of one grid stretched over it, each tile one APSP run whose context
 * is the same tile cut from every example pair, the tiles blended where they overlap, the result in the target's
 * intensity units on its grid; outside the box the input is kept.
 */
export interface TiledRun {
  target: Volume;
  targetFile?: string;
  /** (input image, restored image) pairs, on the target's voxel grid (aligned, or given on it). */
  pairs: LazyContextPair[];
  /** Where to restore: a box of the target's voxels as stored. */
  box: VoxelBox;
  /** Minimum overlap of neighbouring tiles in model voxels (default a quarter of the grid). */
  overlap?: number;
  /** Model voxel edge in mm (default: the target's finest spacing). */
  voxelMm?: number;
  miniContext?: number | 'auto';
  memoryBudgetBytes?: number;
  signal?: AbortSignal;
  onProgress?: (p: { structure: number; structures: number } & ContextProgress) => void;
  /** Folder for the pairs' tiles while the run lasts (default: the system's temporary folder). */
  scratch?: string;
  /**
   * Tiles per example for the guard (default 2; 0: none): each example's input restored from the other examples
   * on its most head-filled tiles, and scored against its own target. Needs two pairs or more.
   */
  guardTiles?: number;
}

/** Normalised intensities are clipped to [0, 1] (percentile-minmax): 16 bits keep them to 1.5·10⁻⁵. */
const LEVELS = 65535;

export async function runTilesOnEngine(engine: InferenceEngine, run: TiledRun): Promise<TaskRunResult & { tiled: TiledDetails }> {
  const m = engine.manifest;
  if (!m.tasks.includes('generate'))
    throw new InputError(undefined, `model "${m.name}" was not trained for task "generate" (manifest tasks: ${m.tasks.join(', ')})`);
  if (run.pairs.length === 0) throw new InputError(undefined, 'a structure needs at least one context pair', 'usage');
  const seconds = { preprocess: 0, targetEncoder: 0, context: 0, decoder: 0, postprocess: 0 };
  const lap = lapTimer();
  const target = run.target;
  const dims = spatialDims(target);
  const o = engine.oriented(target);
  const region = orientBox(run.box, dims, o.axes);
  const layout = tileLayout(o.dims, o.spacing, m.grid, region, { overlap: run.overlap, voxelMm: run.voxelMm });
  const tiles = [...tilesOf(layout)];
  const [lo, hi] = volumeQuantiles(target, [m.normalization.lower, m.normalization.upper]);
  const norm = rangeNormalizer(target, lo, hi);
  const L = run.pairs.length;
  const l = engine.miniContextFor(L, { miniContext: run.miniContext ?? 'auto', memoryBudgetBytes: run.memoryBudgetBytes });
  const scratch = mkdtempSync(join(run.scratch ?? tmpdir(), 'nv-tiles-'));
  const files: number[] = [];
  const cut: CutPair[] = [];
  try {
    for (let i = 0; i < L; i++) {
      run.signal?.throwIfAborted();
      const c = await cutPairTiles(engine, run.pairs[i], i, target, layout, join(scratch, `pair-${i}.u16`));
      files.push(c.fd);
      cut.push(c);
    }
    seconds.preprocess += lap();
    const [rx, ry, rz] = [0, 1, 2].map((a) => region.hi[a] - region.lo[a] + 1);
    const sum = new Float32Array(rx * ry * rz);
    const weight = new Float32Array(rx * ry * rz);
    const voxels = m.grid[0] * m.grid[1] * m.grid[2];
    const block = new Uint16Array(2 * voxels);
    const readBlock = (i: number, tile: number): GridPair => {
      readSync(files[i], block, 0, block.byteLength, tile * block.byteLength);
      return { image: dequantize(block.subarray(0, voxels)), label: dequantize(block.subarray(voxels)) };
    };
    let examples: TileExampleScore[] = [];
    const result = await engine.withSessions(async (sessions) => {
      sum.fill(0);
      weight.fill(0);
      const guardTiles = L >= 2 ? (run.guardTiles ?? 2) : 0;
      if (guardTiles > 0) {
        lap();
        examples = await guardExamples(sessions, m.grid, cut, readBlock, mostHead(cut, guardTiles), l, run.signal);
        seconds.context += lap();
      }
      for (const tile of tiles) {
        lap();
        const image = sample(target, o, tile.fit, 'linear', norm);
        seconds.preprocess += lap();
        const enc = await encodeTarget(sessions, image, m.grid);
        seconds.targetEncoder += lap();
        let read = 0;
        try {
          const means = await encodeContext(
            sessions,
            enc,
            {
              count: L,
              load: async (i) => {
                const t0 = performance.now();
                const pair = readBlock(i, tile.index);
                read += (performance.now() - t0) / 1000;
                return pair;
              },
            },
            {
              miniContext: l,
              signal: run.signal,
              onProgress: (p) => run.onProgress?.({ structure: 1, structures: 1, ...p, tile: tile.index + 1, tiles: tiles.length }),
            },
          );
          seconds.context += lap() - read;
          seconds.preprocess += read;
          const raw = await decode(sessions, enc, means);
          seconds.decoder += lap();
          accumulateTile(layout, tile, raw, region, sum, weight);
          seconds.postprocess += lap();
        } finally {
          releaseEncoding(enc);
        }
      }
      return sessions.choice;
    }, run.signal);
    const volume = backToTarget(target, o.axes, region, sum, weight, lo, hi, m.name, layout);
    seconds.postprocess += lap();
    return {
      structures: [
        {
          volume,
          task: 'generate',
          contextSize: L,
          miniContext: l,
          seconds: { preprocess: seconds.preprocess, context: seconds.context, decoder: seconds.decoder, postprocess: seconds.postprocess },
        },
      ],
      targetEncoderSeconds: seconds.targetEncoder,
      choice: result,
      seconds,
      tiled: { tiles: tiles.length, voxelMm: layout.modelVoxelMm, overlap: layout.ramp, guardTiles: examples.length ? (run.guardTiles ?? 2) : 0, examples },
    };
  } finally {
    for (const f of files) closeSync(f);
    rmSync(scratch, { recursive: true, force: true });
  }
}

interface CutPair {
  fd: number;
  /** Real values at normalised 0 and 1 of the input image and of the restored one ("label"). */
  image: { lo: number; hi: number };
  label: { lo: number; hi: number };
  /** Per tile, the restored image's voxels at or above a tenth of its range: how much head the tile holds. */
  head: Uint32Array;
}

/**
 * Reads one pair once and writes every tile of it (input and restored image, normalised, on the model grid) to
 * `file`, tile after tile: each tile's APSP then reads one block per pair, so memory holds one pair while cutting
 * and one mini-context of tiles while running, whatever the number of pairs and tiles. Returns the open file, the
 * pair's normalisation ranges and how much head each tile holds.
 */
async function cutPairTiles(engine: InferenceEngine, p: LazyContextPair, i: number, target: Volume, layout: TileLayout, file: string): Promise<CutPair> {
  const { image, label } = await p.load();
  checkPairGrid({ image, label, imageFile: p.imageFile, labelFile: p.labelFile }, i);
  const want = spatialDims(target);
  const got = spatialDims(image);
  if (got.join() !== want.join())
    throw new InputError(
      p.imageFile,
      `context pair ${i + 1} (${got.join('×')}) is not on the target's grid (${want.join('×')}): generation cuts the same tiles from every pair, so align the pairs to the target (--align affine)`,
    );
  const { lower, upper } = engine.manifest.normalization;
  const [il, ih] = volumeQuantiles(image, [lower, upper]);
  const [ll, lh] = volumeQuantiles(label, [lower, upper]);
  const normImage = rangeNormalizer(image, il, ih);
  const normLabel = rangeNormalizer(label, ll, lh);
  const head = new Uint32Array(tileCount(layout));
  // On the target's grid, so oriented as the target is (the same axes even if its header differs slightly).
  const oriented = engine.oriented(image, engine.oriented(target).axes);
  const voxels = layout.grid[0] * layout.grid[1] * layout.grid[2];
  const block = new Uint16Array(2 * voxels);
  const fd = openSync(file, 'w+');
  try {
    for (const tile of tilesOf(layout)) {
      quantize(sample(image, oriented, tile.fit, 'linear', normImage), block, 0);
      const restored = sample(label, oriented, tile.fit, 'linear', normLabel);
      quantize(restored, block, voxels);
      let n = 0;
      for (let k = 0; k < restored.length; k++) if (restored[k] >= 0.1) n++;
      head[tile.index] = n;
      writeSync(fd, block, 0, block.byteLength, tile.index * block.byteLength);
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return { fd, image: { lo: il, hi: ih }, label: { lo: ll, hi: lh }, head };
}

/** The `k` tiles holding the most head over all pairs (the same tiles whatever the target). */
function mostHead(cut: readonly CutPair[], k: number): number[] {
  const total = cut[0].head.map((_, t) => cut.reduce((s, c) => s + c.head[t], 0));
  return [...total.keys()].sort((a, b) => total[b] - total[a] || a - b).slice(0, k);
}

/**
 * The guard of a model restoration (as every classical restoration has, docs/restoration.md): each example's
 * input tile restored by the model from the other examples' same tile, mapped to the example's units as the
 * target's answer is, and compared with the example's own restored image against its input (PSNR over the tiles'
 * head voxels: restored image at or above a tenth of its range, neither image clipped at its upper quantile,
 * where the model could not have answered).
 */
async function guardExamples(
  sessions: ModelSessions,
  grid: Grid,
  cut: readonly CutPair[],
  readBlock: (pair: number, tile: number) => GridPair,
  tiles: readonly number[],
  miniContext: number,
  signal?: AbortSignal,
): Promise<TileExampleScore[]> {
  const scores: TileExampleScore[] = [];
  for (let e = 0; e < cut.length; e++) {
    const others = [...cut.keys()].filter((j) => j !== e);
    let inErr = 0;
    let outErr = 0;
    let n = 0;
    const { image, label } = cut[e];
    const peak = label.hi;
    for (const t of tiles) {
      signal?.throwIfAborted();
      const own = readBlock(e, t);
      const enc = await encodeTarget(sessions, own.image, grid);
      let y: Float32Array;
      try {
        const means = await encodeContext(sessions, enc, { count: others.length, load: async (i) => readBlock(others[i], t) }, { miniContext, signal });
        y = await decode(sessions, enc, means);
      } finally {
        releaseEncoding(enc);
      }
      for (let k = 0; k < y.length; k++) {
        const c = own.label[k];
        const x = own.image[k];
        if (c < 0.1 || c >= 1 || x >= 1) continue;
        const truth = label.lo + c * (label.hi - label.lo);
        const a = image.lo + x * (image.hi - image.lo) - truth;
        const b = image.lo + y[k] * (image.hi - image.lo) - truth;
        inErr += a * a;
        outErr += b * b;
        n++;
      }
    }
    const psnr = (err: number) => (n === 0 || err === 0 ? Infinity : 10 * Math.log10((peak * peak) / (err / n)));
    scores.push({ pair: e, inputPsnr: psnr(inErr), outputPsnr: psnr(outErr) });
  }
  return scores;
}

function quantize(values: Float32Array, into: Uint16Array, at: number): void {
  for (let k = 0; k < values.length; k++) into[at + k] = Math.round(Math.min(1, Math.max(0, values[k])) * LEVELS);
}

function dequantize(block: Uint16Array): Float32Array {
  const out = new Float32Array(block.length);
  for (let k = 0; k < block.length; k++) out[k] = block[k] / LEVELS;
  return out;
}

/**
 * The blended tiles back on the target's grid, in its intensity units; outside the region the input as it is.
 *
 * Units: the model works on intensities normalised per image (clipped to the image's own lower/upper quantiles,
 * then mapped to [0, 1]); its examples' outputs (the restored images) were normalised by their own quantiles, so
 * it answers "the restored image, normalised like an image of this head". The target's own quantiles are the
 * best estimate of the restored head's: a restoration (noise, bias, …) keeps the tissue's intensities where
 * they are, so its inverse, lo + y·(hi − lo), brings the answer back to the input's units. What the
 * normalisation clipped away (input values beyond lo or hi) the model never saw: it is added back unchanged,
 * so the brightest voxels are not flattened to hi.
 */
function backToTarget(
  target: Volume,
  axes: Parameters<typeof mappedLayout>[1] | undefined,
  region: VoxelBox,
  sum: Float32Array,
  weight: Float32Array,
  lo: number,
  hi: number,
  modelName: string,
  layout: TileLayout,
): Volume {
  const dims = spatialDims(target);
  const out = realValues(target);
  const l = axes ? mappedLayout(dims, axes) : denseLayout(dims);
  const range = hi - lo;
  for (let z = region.lo[2], r = 0; z <= region.hi[2]; z++)
    for (let y = region.lo[1]; y <= region.hi[1]; y++) {
      const row = l.start + y * l.steps[1] + z * l.steps[2];
      for (let x = region.lo[0]; x <= region.hi[0]; x++, r++) {
        if (!(weight[r] > 0)) continue;
        const i = row + x * l.steps[0];
        const x0 = out[i];
        const clipped = Math.min(Math.max(x0, lo), hi);
        out[i] = lo + (sum[r] / weight[r]) * range + (x0 - clipped);
      }
    }
  return {
    dims,
    spacing: target.spacing.slice(0, 3),
    affine: target.affine.map((row) => [...row]),
    data: out,
    slope: 1,
    intercept: 0,
    description: `neuroverse3d generate (${modelName}, ${tileCount(layout)} tiles of ${layout.modelVoxelMm.toFixed(2)} mm)`,
    source: { kind: 'memory' },
    ...(target.xformCodes ? { xformCodes: { ...target.xformCodes } } : {}),
  };
}
