import { freemem } from 'node:os';
import { lapTimer } from '../util/lap-timer.js';
import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import { axisMapping, mappedLayout } from '../imaging/reorient.js';
import type { AxisMapping } from '../imaging/reorient.js';
import { chooseMiniContextSize } from './apsp/mini-context-size.js';
import { loadModelPackage } from './package/load-package.js';
import type { LoadedModelPackage } from './package/load-package.js';
import { FIELD_OF_VIEW } from './package/manifest.js';
import type { Task } from '../common/task.js';
import type { Manifest } from './package/manifest.js';
import { foregroundBoxWhere } from './processing/foreground-box.js';
import type { VoxelBox } from './processing/foreground-box.js';
import { denseLayout, fitToGrid, resampleFrom, toNativeGridInto } from './processing/grid-fit.js';
import type { GridFit, SourceLayout } from './processing/grid-fit.js';
import { labelMembership } from '../imaging/labels.js';
import { percentileNormalizer } from './processing/intensity.js';
import { LruCache } from '../util/lru-cache.js';
import { checkContextPair, checkPairGrid, checkStructureOccurs } from './processing/pair-checks.js';
import { runWithFallback } from './runtime/provider-fallback.js';
import type { ProviderAttempt } from './runtime/provider-types.js';
import type { DeviceRequest, PrecisionRequest, ProviderChoice } from './runtime/device.js';
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

/**
 * A volume as the model sees it: dims and spacing in the model's voxel-axis order, and where each voxel of
 * that order is stored (no copy of the volume is made to reorient it).
 */
export interface Oriented {
  dims: number[];
  spacing: number[];
  layout: SourceLayout;
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
  /**
   * What `load` reads, as cache keys (file, size, modification time): given, a pair already placed on the
   * same grid by this engine is not read again.
   */
  identity?: { image: string; label: string };
}

/** Bytes of resampled context volumes an open engine keeps for later runs (64³: 1 MB a volume). */
const PREPARED_CACHE_BYTES = 256 * 1024 * 1024;

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
  /** Target and pair normalisation and resampling (pair reads included where the task reads them). */
  preprocess: number;
  targetEncoder: number;
  /** Context branch over all mini-contexts, all structures. */
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

/**
 * One engine call on a prepared target. The run results above it are other layers, not copies: run-task's
 * TaskRunResult adds the task's clock, pipeline's PipelineResult any method (model or vote) with alignment
 * and QC, workflow's RunTaskResult the API's JSON view (volumes by session id), library's RunRecord what the
 * library keeps of a run.
 */
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
  /**
   * Context volumes already on the model grid, kept between runs: re-running on the same target and frame (one
   * more pair, a changed mini-context size, the app's second click) skips reading and resampling the pairs it
   * has seen. Keyed by what was read and how it was placed, so a changed file or another frame is a miss,
   * never a stale hit.
   */
  private readonly prepared = new LruCache<Float32Array>(PREPARED_CACHE_BYTES, (a) => a.byteLength);
  /** Normalisation of each context file seen (its quantiles), by identity: 1024 files at most. */
  private readonly normalizers = new LruCache<(stored: number) => number>(1024, () => 1);

  private constructor(
    readonly pkg: LoadedModelPackage,
    private sessions: ModelSessions,
    private readonly device: DeviceRequest,
    private readonly precision: PrecisionRequest = 'auto',
  ) {}

  static async open(modelDir: string, device: DeviceRequest = 'auto', precision: PrecisionRequest = 'auto'): Promise<InferenceEngine> {
    const pkg = await loadModelPackage(modelDir);
    return new InferenceEngine(pkg, await ModelSessions.create(pkg, device, precision), device, precision);
  }

  /** An engine on given sessions (calibration: the package's preprocessing, other graphs). */
  static onSessions(pkg: LoadedModelPackage, sessions: ModelSessions): InferenceEngine {
    return new InferenceEngine(pkg, sessions, 'cpu');
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
    const norm = this.normalizer(volume);
    const o = this.oriented(volume);
    const fit = frame
      ? fitToGrid(o.dims, o.spacing, this.manifest.grid, orientBox(frame.box, spatialDims(volume), o.axes), frame.marginMm)
      : this.fitOf(volume, norm, o);
    const data = sample(volume, o, fit, 'linear', norm);
    return { volume, file, fit, axes: o.axes, data };
  }

  /** `key` names the file `v` was read from (an identity): its quantiles are then computed once per engine. */
  private normalizer(v: Volume, key?: string): (stored: number) => number {
    const known = key ? this.normalizers.get(key) : undefined;
    if (known) return known;
    const { lower, upper } = this.manifest.normalization;
    const f = percentileNormalizer(v, lower, upper);
    if (key) this.normalizers.set(key, f);
    return f;
  }

  /**
   * Values of `geometry`'s first frame in the voxel-axis order the model was trained on (manifest.orientation,
   * e.g. LIA for ours): convolutions are not orientation-invariant, so a RAS scan must not reach a model
   * trained on LIA arrays as stored. Without an orientation the arrays go in as stored (official checkpoint).
   */
  oriented(geometry: Volume, axes?: AxisMapping): Oriented {
    const dims = spatialDims(geometry);
    const spacing = geometry.spacing.slice(0, 3);
    const code = this.manifest.orientation;
    if (!code) return { dims, spacing, layout: denseLayout(dims) };
    const m = axes ?? axisMapping(geometry.affine, code);
    const l = mappedLayout(dims, m);
    return { dims: l.dims, spacing: m.perm.map((c) => spacing[c]), layout: { start: l.start, steps: l.steps }, axes: m };
  }

  /** The manifest's grid-fit rule applied to one image; a blank image falls back to its field of view. */
  private fitOf(v: Volume, norm: (stored: number) => number, o: Oriented): GridFit {
    const rule = this.manifest.fit ?? FIELD_OF_VIEW;
    if (rule.method === 'field-of-view') return fitToGrid(o.dims, o.spacing, this.manifest.grid);
    // Found on the voxels as stored, then turned into the model's order: the per-slice counts it is made
    // of only permute and reverse with the axes.
    const stored = spatialDims(v);
    const found = foregroundBoxWhere(v.data, stored, (x) => norm(x) >= rule.threshold);
    const box = found ? orientBox(found, stored, o.axes) : null;
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
  preparePair(
    p: ContextPairInput,
    s: Pick<StructureInput, 'task' | 'labels'>,
    i: number,
    onTarget?: PreparedTarget,
    identity?: LazyContextPair['identity'],
  ): GridPair {
    checkPairGrid(p, i);
    const norm = this.normalizer(p.image, identity?.image);
    const img = this.oriented(p.image, onTarget?.axes);
    const fit = onTarget ? onTarget.fit : this.fitOf(p.image, norm, img);
    const image = sample(p.image, img, fit, 'linear', norm);
    // The label shares its image's grid (checked above), so it is read through the image's layout.
    const label =
      s.task === 'segment'
        ? sample(p.label, img, fit, 'nearest', labelMembership(p.label, s.labels))
        : sample(p.label, img, fit, 'linear', this.normalizer(p.label, identity?.label));
    // A structure voxel met by the (nearest) samples proves that the structure occurs: the whole label map is
    // scanned only when none was met, to refuse the pair or to find a structure smaller than the grid's spacing.
    if (s.task !== 'segment' || !label.includes(1)) checkStructureOccurs(p, s.task, s.labels, i);
    return { image, label };
  }

  /**
   * `preparePair` through the engine's cache: a pair read from the same files and placed on the same grid
   * fit is not read again. Without an identity (in-memory pairs) it is always prepared.
   */
  private async cachedPair(
    p: ContextPairInput | LazyContextPair,
    s: Pick<StructureInput, 'task' | 'labels'>,
    i: number,
    onTarget?: PreparedTarget,
    /** The lazy pair's volumes, when the caller has already read them. */
    loaded?: ContextPairInput,
  ): Promise<GridPair> {
    const id = 'load' in p ? p.identity : undefined;
    const place = onTarget ? `on-target ${JSON.stringify([onTarget.fit.grid, onTarget.fit.scale, onTarget.fit.offset, onTarget.axes ?? null])}` : 'own';
    const keys = id && {
      image: `image ${id.image} ${place}`,
      label: `label ${id.label} of ${id.image} ${s.task} ${s.labels?.join(',') ?? 'all'} ${place}`,
    };
    if (keys) {
      const image = this.prepared.get(keys.image);
      const label = this.prepared.get(keys.label);
      if (image && label) return { image, label };
    }
    const pair = loaded ?? ('load' in p ? { ...(await p.load()), imageFile: p.imageFile, labelFile: p.labelFile } : p);
    const g = this.preparePair(pair, s, i, onTarget, id);
    if (keys) {
      this.prepared.set(keys.image, g.image);
      this.prepared.set(keys.label, g.label);
    }
    return g;
  }

  /**
   * Checks a lazy pair its caller has just read (run-task's checks before compute) and, as it has the volumes,
   * prepares it on its own grid fit into the cache: the run then finds it there instead of reading its files
   * a second time. The same preparation as in the run, so the result is the same to the bit.
   */
  async checkAndPreparePair(p: LazyContextPair, loaded: ContextPairInput, s: Pick<StructureInput, 'task' | 'labels'>, i: number): Promise<void> {
    await this.cachedPair(p, s, i, undefined, loaded);
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

  /** Whether the current sessions have finished a run (a GPU provider failing before that is left for the next). */
  private provenOnce = false;

  run(target: PreparedTarget, structures: StructureInput[], opts: RunOptions = {}): Promise<RunResult> {
    return this.withSessions(() => this.runOnce(target, structures, opts), opts.signal);
  }

  /**
   * `job` on the current sessions, under the same provider fallback as `run` (a GPU that fails at its first
   * call is left for the next provider and the job runs again): for callers that drive the graphs themselves
   * (tiled generation, run-tiles.ts).
   */
  async withSessions<T>(job: (s: ModelSessions) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const host = {
      choice: this.sessions.choice,
      reopen: async (earlier: ProviderAttempt[]) => {
        await this.sessions.release();
        this.sessions = await ModelSessions.create(this.pkg, 'auto', this.precision, { earlier });
        host.choice = this.sessions.choice;
      },
    };
    const r = await runWithFallback(host, this.device === 'auto', this.provenOnce, () => job(this.sessions), signal);
    this.provenOnce = r.proven;
    return r.value;
  }

  private async runOnce(target: PreparedTarget, structures: StructureInput[], opts: RunOptions): Promise<RunResult> {
    const lap = lapTimer();
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
            const g = await this.cachedPair(s.pairs[i], s, i, opts.pairsOnTargetGrid ? target : undefined);
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
    const dims = spatialDims(v);
    // Written straight into the target's own voxel order (the model saw it through target.axes).
    const layout = target.axes ? mappedLayout(dims, target.axes) : denseLayout(dims);
    const base = {
      dims,
      spacing: v.spacing.slice(0, 3),
      affine: v.affine.map((r) => [...r]),
      slope: 1,
      intercept: 0,
      source: { kind: 'memory' as const },
    };
    const n = dims[0] * dims[1] * dims[2];
    if (task === 'segment') {
      const mask = new Uint8Array(n);
      const thr = this.manifest.threshold;
      toNativeGridInto(mask, layout, raw, target.fit, (x) => (x > thr ? 1 : 0));
      return { ...base, data: mask, description: `neuroverse3d segment (${this.manifest.name})` };
    }
    const image = new Float32Array(n);
    toNativeGridInto(image, layout, raw, target.fit);
    return { ...base, data: image, description: `neuroverse3d generate (${this.manifest.name})` };
  }

  async release(): Promise<void> {
    await this.sessions.release();
  }
}

/** A volume's first frame on the model grid, read through its layout, each voxel read mapped by `value`. */
export function sample(v: Volume, o: Oriented, fit: GridFit, mode: 'linear' | 'nearest', value: (stored: number) => number): Float32Array {
  return resampleFrom(v.data, o.dims, o.layout, fit.grid, fit.scale, fit.offset, mode, 0, value);
}

/** A box of voxel indices as stored, in the voxel order `axes` gives (the model's orientation). */
export function orientBox(box: VoxelBox, dims: readonly number[], axes?: AxisMapping): VoxelBox {
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
