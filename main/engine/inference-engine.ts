import { freemem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import { applyAxisMapping, axisMapping, inverseAxisMapping } from '../imaging/reorient.js';
import type { AxisMapping } from '../imaging/reorient.js';
import { chooseMiniContextSize } from './apsp/mini-context-size.js';
import { loadModelPackage } from './package/load-package.js';
import type { LoadedModelPackage } from './package/load-package.js';
import { FIELD_OF_VIEW } from './package/manifest.js';
import type { Manifest, Task } from './package/manifest.js';
import { foregroundBox } from './processing/foreground-box.js';
import type { VoxelBox } from './processing/foreground-box.js';
import { fitToGrid, toModelGrid, toNativeGrid } from './processing/grid-fit.js';
import type { GridFit } from './processing/grid-fit.js';
import { structureMask } from '../imaging/labels.js';
import { percentileNormalize, realValues } from './processing/intensity.js';
import { checkContextPair } from './processing/pair-checks.js';
import { isOutOfMemory } from './runtime/device.js';
import type { DeviceRequest, ProviderChoice } from './runtime/device.js';
import { decode, encodeContext, encodeTarget, releaseEncoding } from './runtime/inference.js';
import type { ContextProgress, GridPair, TargetEncoding } from './runtime/inference.js';
import { ModelSessions } from './runtime/model-sessions.js';

/** A target volume normalised and placed in the model grid, with the transform to map results back. */
export interface PreparedTarget {
  volume: Volume;
  file?: string;
  /** Placement in the grid, of the volume as reoriented by `axes` (when the manifest names an orientation). */
  fit: GridFit;
  axes?: AxisMapping;
  data: Float32Array;
}

/** One 3-D array (x fastest) with the geometry the grid fit needs. */
interface Oriented {
  values: Float32Array;
  dims: number[];
  spacing: number[];
  axes?: AxisMapping;
}

export interface ContextPairInput {
  image: Volume;
  label: Volume;
  imageFile?: string;
  labelFile?: string;
}

/** A pair read only when its mini-context runs (the CLI's files), keeping memory flat in L. */
export interface LazyContextPair {
  imageFile: string;
  labelFile: string;
  load(): Promise<{ image: Volume; label: Volume }>;
}

/** One structure (or generation task) to run on a shared target encoding. */
export interface StructureInput {
  task: Task;
  pairs: (ContextPairInput | LazyContextPair)[];
  /** Label values whose union is the foreground (segmentation); all non-zero labels when absent. */
  labels?: number[];
}

export interface RunOptions {
  /** Mini-context size, or 'auto' to derive it from `memoryBudgetBytes`. */
  miniContext?: number | 'auto';
  memoryBudgetBytes?: number;
  order?: readonly number[];
  signal?: AbortSignal;
  /** The pairs were resampled onto the target's voxel grid (alignment): frame them as the target. */
  pairsOnTargetGrid?: boolean;
  onProgress?: (p: { structure: number; structures: number } & ContextProgress) => void;
}

export interface PhaseSeconds {
  preprocess: number;
  targetEncoder: number;
  context: number;
  decoder: number;
  postprocess: number;
}

export interface StructureResult {
  volume: Volume;
  task: Task;
  contextSize: number;
  miniContext: number;
  seconds: Omit<PhaseSeconds, 'targetEncoder'>;
}

export interface RunResult {
  structures: StructureResult[];
  targetEncoderSeconds: number;
  choice: ProviderChoice;
}

/**
 * The engine as the app and CLI use it: owns the ORT sessions of one model package, prepares volumes,
 * runs APSP, and maps outputs back to the target's native grid. The target encoding is computed once per
 * `run` and shared by all structures.
 */
export class InferenceEngine {
  private constructor(
    readonly pkg: LoadedModelPackage,
    private sessions: ModelSessions,
    private readonly device: DeviceRequest,
  ) {}

  static async open(modelDir: string, device: DeviceRequest = 'auto'): Promise<InferenceEngine> {
    const pkg = await loadModelPackage(modelDir);
    return new InferenceEngine(pkg, await ModelSessions.create(pkg, device), device);
  }

  get manifest(): Manifest {
    return this.pkg.manifest;
  }

  get choice(): ProviderChoice {
    return this.sessions.choice;
  }

  /**
   * `frame`: a box of the target's voxels (as stored) to fit into the grid instead of the manifest's rule,
   * e.g. where the aligned context labels lie, so a skull and neck do not shrink the brain in the grid.
   */
  prepareTarget(volume: Volume, file?: string, frame?: { box: VoxelBox; marginMm: number }): PreparedTarget {
    const { lower, upper } = this.manifest.normalization;
    const o = this.oriented(volume, percentileNormalize(realValues(volume), lower, upper));
    const fit = frame ? fitToGrid(o.dims, o.spacing, this.manifest.grid, orientBox(frame.box, spatialDims(volume), o.axes), frame.marginMm) : this.fitOf(o);
    const data = toModelGrid(o.values, fit, 'linear');
    return { volume, file, fit, axes: o.axes, data };
  }

  /**
   * Values of `geometry`'s first frame in the voxel-axis order the model was trained on (manifest.orientation,
   * e.g. LIA for ours): convolutions are not orientation-invariant, so a RAS scan must not reach a model
   * trained on LIA arrays as stored. Without an orientation the arrays go in as stored (official checkpoint).
   */
  private oriented(geometry: Volume, values: Float32Array, axes?: AxisMapping): Oriented {
    const dims = spatialDims(geometry);
    const spacing = geometry.spacing.slice(0, 3);
    const code = this.manifest.orientation;
    if (!code) return { values, dims, spacing };
    const m = axes ?? axisMapping(geometry.affine, code);
    const moved = applyAxisMapping({ ...geometry, dims, spacing, data: values }, m);
    return { values: moved.data as Float32Array, dims: moved.dims, spacing: moved.spacing, axes: m };
  }

  /** The manifest's grid-fit rule applied to one (normalised) image; a blank image falls back to its field of view. */
  private fitOf(o: Oriented): GridFit {
    const rule = this.manifest.fit ?? FIELD_OF_VIEW;
    if (rule.method === 'field-of-view') return fitToGrid(o.dims, o.spacing, this.manifest.grid);
    const box = foregroundBox(o.values, o.dims, rule.threshold);
    return fitToGrid(o.dims, o.spacing, this.manifest.grid, box ?? undefined, box ? rule.marginMm : 0);
  }

  /** Cheap checks of one pair (grids agree, the chosen labels occur), without any resampling. */
  checkPair(p: ContextPairInput, s: Pick<StructureInput, 'task' | 'labels'>, i: number): void {
    checkContextPair(p, s.task, s.labels, i);
  }

  /**
   * One context pair on the model grid, placed by its own image's geometry, or, when it was aligned onto
   * the target's voxel grid (`onTarget`), framed exactly as the target is.
   */
  preparePair(p: ContextPairInput, s: Pick<StructureInput, 'task' | 'labels'>, i: number, onTarget?: PreparedTarget): GridPair {
    this.checkPair(p, s, i);
    const { lower, upper } = this.manifest.normalization;
    const img = this.oriented(p.image, percentileNormalize(realValues(p.image), lower, upper), onTarget?.axes);
    const fit = onTarget ? onTarget.fit : this.fitOf(img);
    const image = toModelGrid(img.values, fit, 'linear');
    // The label shares its image's grid (checked above), so it moves with the image's axis mapping.
    const labelValues = s.task === 'segment' ? Float32Array.from(structureMask(p.label, s.labels)) : percentileNormalize(realValues(p.label), lower, upper);
    const lab = this.oriented(p.image, labelValues, img.axes);
    const label = toModelGrid(lab.values, fit, s.task === 'segment' ? 'nearest' : 'linear');
    return { image, label };
  }

  miniContextFor(L: number, opts: RunOptions): number {
    const m = opts.miniContext ?? 'auto';
    if (m === 'auto') {
      const budget = opts.memoryBudgetBytes ?? defaultBudget();
      return chooseMiniContextSize(this.manifest.architecture.channels, this.manifest.grid, L, budget);
    }
    if (!Number.isInteger(m) || m < 1) throw new InputError(undefined, `mini-context size must be a positive integer or auto (got ${m})`, 'usage');
    return Math.min(m, L);
  }

  async run(target: PreparedTarget, structures: StructureInput[], opts: RunOptions = {}): Promise<RunResult> {
    try {
      return await this.runOnce(target, structures, opts);
    } catch (err) {
      if (this.sessions.choice.provider === 'cuda' && this.device === 'auto' && isOutOfMemory(err)) {
        await this.sessions.release();
        this.sessions = await ModelSessions.create(this.pkg, 'cpu', 'fell back to CPU: CUDA ran out of memory');
        return this.runOnce(target, structures, opts);
      }
      throw err;
    }
  }

  private async runOnce(target: PreparedTarget, structures: StructureInput[], opts: RunOptions): Promise<RunResult> {
    let t = performance.now();
    const lap = () => {
      const now = performance.now();
      const s = (now - t) / 1000;
      t = now;
      return s;
    };
    const enc: TargetEncoding = await encodeTarget(this.sessions, target.data, this.manifest.grid);
    const targetEncoderSeconds = lap();
    const results: StructureResult[] = [];
    try {
      for (let k = 0; k < structures.length; k++) {
        const s = structures[k];
        lap();
        let preprocess = 0;
        const source = {
          count: s.pairs.length,
          load: async (i: number) => {
            const t0 = performance.now();
            const p = s.pairs[i];
            const pair = 'load' in p ? { ...(await p.load()), imageFile: p.imageFile, labelFile: p.labelFile } : p;
            const g = this.preparePair(pair, s, i, opts.pairsOnTargetGrid ? target : undefined);
            preprocess += (performance.now() - t0) / 1000;
            return g;
          },
        };
        const l = this.miniContextFor(s.pairs.length, opts);
        const means = await encodeContext(this.sessions, enc, source, {
          miniContext: l,
          order: opts.order,
          signal: opts.signal,
          onProgress: (p) => opts.onProgress?.({ structure: k + 1, structures: structures.length, ...p }),
        });
        const context = lap() - preprocess;
        const raw = await decode(this.sessions, enc, means);
        const decoder = lap();
        const volume = this.toNative(raw, target, s.task);
        results.push({ volume, task: s.task, contextSize: s.pairs.length, miniContext: l, seconds: { preprocess, context, decoder, postprocess: lap() } });
      }
    } finally {
      releaseEncoding(enc);
    }
    return { structures: results, targetEncoderSeconds, choice: this.sessions.choice };
  }

  /** Raw model output → target's native grid and affine; masks thresholded at the manifest's threshold. */
  toNative(raw: Float32Array, target: PreparedTarget, task: Task): Volume {
    const v = target.volume;
    let native = toNativeGrid(raw, target.fit, 'linear', 0);
    if (target.axes) {
      // Back from the model's axis order to the target's own (exact: a permutation and flips).
      // Only the data is taken from this call; dims, spacing and affine of the result are the target's own.
      const dims = spatialDims(v);
      const modelOrderDims = target.axes.perm.map((c) => dims[c]);
      native = applyAxisMapping({ ...v, dims: modelOrderDims, data: native }, inverseAxisMapping(target.axes)).data as Float32Array;
    }
    const base = {
      dims: spatialDims(v),
      spacing: v.spacing.slice(0, 3),
      affine: v.affine.map((r) => [...r]),
      slope: 1,
      intercept: 0,
      source: { kind: 'memory' as const },
    };
    if (task === 'segment') {
      const mask = new Uint8Array(native.length);
      const thr = this.manifest.threshold;
      for (let i = 0; i < native.length; i++) mask[i] = native[i] > thr ? 1 : 0;
      return { ...base, data: mask, description: `neuroverse3d segment (${this.manifest.name})` };
    }
    return { ...base, data: native, description: `neuroverse3d generate (${this.manifest.name})` };
  }

  async release(): Promise<void> {
    await this.sessions.release();
  }
}

/** A box of voxel indices as stored, in the voxel order `axes` gives (the model's orientation). */
function orientBox(box: VoxelBox, dims: readonly number[], axes?: AxisMapping): VoxelBox {
  if (!axes) return box;
  const lo = [0, 0, 0] as [number, number, number];
  const hi = [0, 0, 0] as [number, number, number];
  for (let w = 0; w < 3; w++) {
    const c = axes.perm[w];
    lo[w] = axes.flip[w] ? dims[c] - 1 - box.hi[c] : box.lo[c];
    hi[w] = axes.flip[w] ? dims[c] - 1 - box.lo[c] : box.hi[c];
  }
  return { lo, hi };
}

/** Without a budget: half of the free memory the OS reports, as a conservative share for one job. */
function defaultBudget(): number {
  return Math.max(1, Math.floor(freemem() / 2));
}
