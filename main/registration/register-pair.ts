import type { StepProgress } from '../compute/protocol.js';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import { realValues } from '../engine/processing/intensity.js';
import { encodeNifti } from '../imaging/nifti/write.js';
import { readNifti } from '../imaging/nifti/read.js';
import type { Volume, VoxelArray } from '../imaging/volume.js';
import { spatialDims, volumeOnGrid } from '../imaging/volume.js';
import { boxWhere } from '../imaging/voxel-box.js';
import type { VoxelBox } from '../imaging/voxel-box.js';
import { blockMean, coarseFactors, itkGeometry, itkImage } from './itk-image.js';
import type { ItkGeometry, ItkImageLike } from './itk-image.js';
import { BSPLINE_GRID_MM, DEFORMABLE, identityTransform, OVERRIDES, REGISTRATION_MM, RESOLUTIONS, stagesOf, withInterpolation } from './parameters.js';
import type { ParameterMap } from './parameters.js';
import type { PlainVolume } from './types.js';
import type { RegisterJob, RegisterResult, TransformJob } from './registration-jobs.js';
import { gzipAsync } from '../util/gzip.js';
import { defaultParameterMap, registerWithElastix, transformix } from './elastix-pipelines.js';

/**
 * Labels are resampled at full resolution only inside their coarse box plus a margin (B-spline resampling
 * of a whole 256³ grid costs ~17 s); images with a wider one, which covers the model's framing margin
 * around the union of all pairs' labels.
 */
const LABEL_MARGIN_MM = 6;
const IMAGE_MARGIN_MM = 20;

/**
 * One context pair registered to the target and resampled onto its voxel grid (runs in a compute worker).
 * Registration uses ~2 mm block means of both images; the transform is then applied to the full-resolution
 * image (linear) and label (nearest neighbour for label maps, so every value is kept exactly) on the
 * target's own grid, inside the label's box plus a margin.
 */
export async function registerPair(job: RegisterJob, progress: (p: StepProgress) => void): Promise<{ value: RegisterResult }> {
  const t0 = performance.now();
  const image = await readNifti(job.image.file);
  const label = await readNifti(job.label.file);
  const targetDims = spatialDims(job.target);
  const targetValues = realValues(job.target as unknown as Volume);
  const imageValues = realValues(image);
  if (isBlank(imageValues)) throw new InputError(job.image.file, 'image is blank (every voxel has the same value): it cannot be registered to the target');
  if (isBlank(targetValues)) throw new InputError(undefined, 'the target image is blank (every voxel has the same value): nothing to register to');
  const labelValues = realValues(label);

  const fullTarget = itkGeometry(job.target.affine, targetDims);
  const coarseTarget = itkGeometry(job.target.affine, targetDims, coarseFactors(job.target.spacing, REGISTRATION_MM));
  let maps: ParameterMap[];
  if (job.transformFiles?.length) {
    // A chain of stored transforms (e.g. target → reference, then reference → pair): resampling only.
    maps = [];
    for (const f of job.transformFiles) maps.push(...(JSON.parse(await readFile(f, 'utf8')) as ParameterMap[]));
  } else if (job.mode === 'none') {
    maps = [identityTransform(fullTarget)];
  } else {
    progress({ fraction: null, message: `registering ${job.mode}` });
    const fixed = { ...job.target, values: targetValues };
    const moving = { ...image, values: imageValues };
    if (job.mode === 'deformable' && job.kind === 'label' && DEFORMABLE.cropMarginMm !== null) {
      const affine = await registerImages(fixed, moving, 'affine', job.image.file);
      maps = await registerDeformableRegion(fixed, moving, label, labelValues, affine, coarseTarget, job.image.file);
    } else {
      maps = await registerImages(fixed, moving, job.mode, job.image.file);
    }
  }
  const register = (performance.now() - t0) / 1000;
  const t1 = performance.now();

  // Where the label lands: a cheap coarse warp first, then full resolution only inside that box.
  const whole: VoxelBox = { lo: [0, 0, 0], hi: targetDims.map((d) => d - 1) as [number, number, number] };
  let coarseBox: VoxelBox | null = null;
  if (job.kind === 'label') {
    const coarse = await transformix(
      itkImage(itkGeometry(label.affine, spatialDims(label)), labelValues, 'label'),
      withInterpolation(maps, 'nearest'),
      coarseTarget,
    );
    coarseBox = boxWhere(coarse.data!, coarse.size);
    if (!coarseBox)
      throw new InputError(job.label.file, `after ${job.mode === 'none' ? 'resampling' : 'registration'} the label lies outside the target's field of view`);
  }
  const region = (marginMm: number) => (coarseBox ? toFullBox(coarseBox, coarseTarget, fullTarget, job.target, targetDims, marginMm) : whole);
  const labelFull = await warpInto(label, labelValues, maps, job.kind === 'label' ? 'nearest' : 'linear', region(LABEL_MARGIN_MM), job.target);
  const labelBox = job.kind === 'label' ? boxWhere(labelFull, targetDims) : null;
  if (job.kind === 'label' && !labelBox)
    throw new InputError(job.label.file, `after ${job.mode === 'none' ? 'resampling' : 'registration'} the label lies outside the target's field of view`);
  await writeFile(join(job.outDir, 'label.nii.gz'), await gz(onTargetGrid(job.target, asStored(labelFull, label), `aligned ${job.mode} label`)));
  if (job.warpImage) {
    const imageFull = await warpInto(image, imageValues, maps, 'linear', region(IMAGE_MARGIN_MM), job.target);
    await writeFile(join(job.outDir, 'image.nii.gz'), await gz(onTargetGrid(job.target, asStored(imageFull, image), `aligned ${job.mode} image`)));
  }
  await writeFile(join(job.outDir, 'transform.json'), JSON.stringify(maps));
  return { value: { labelBox, image: job.warpImage, seconds: { register, warp: (performance.now() - t1) / 1000 } } };
}

/** `values` (of `source`) resampled onto the target grid inside `box`; zero elsewhere. */
async function warpInto(
  source: Volume,
  values: Float32Array,
  maps: ParameterMap[],
  kind: 'nearest' | 'linear',
  box: VoxelBox,
  target: PlainVolume,
): Promise<Float32Array> {
  const dims = spatialDims(target);
  const sub = itkGeometry(
    target.affine,
    dims,
    [1, 1, 1],
    box.lo,
    box.lo.map((l, c) => box.hi[c] - l + 1),
  );
  const warped = await transformix(itkImage(itkGeometry(source.affine, spatialDims(source)), values), withInterpolation(maps, kind), sub);
  return paste(warped.data!, box, dims);
}

/**
 * elastix on ~2 mm block means of both images; the result maps points of `fixed` to points of `moving`.
 * Failures name `movingFile`.
 */
async function registerImages(fixed: Grid, moving: Grid, mode: RegisterJob['mode'], movingFile: string): Promise<ParameterMap[]> {
  const ff = coarseFactors(fixed.spacing, REGISTRATION_MM);
  const fm = coarseFactors(moving.spacing, REGISTRATION_MM);
  const f = itkImage(itkGeometry(fixed.affine, spatialDims(fixed), ff), blockMean(fixed.values, spatialDims(fixed), ff), 'fixed');
  const m = itkImage(itkGeometry(moving.affine, spatialDims(moving), fm), blockMean(moving.values, spatialDims(moving), fm), 'moving');
  try {
    return await registerWithElastix(await registrationMaps(mode), { fixed: f, moving: m });
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw err; // ours, not elastix's
    throw new InputError(movingFile, `registration failed (${elastixProblem(err)}): is it the same kind of scan?`);
  }
}

/**
 * The deformable stage on the region that matters only (parameters.ts DEFORMABLE): the target cropped around
 * where the affinely aligned label map lies, the pair around its own label map, each grown by the margin; the
 * affine result is elastix's initial transform. Returns the whole chain (rigid, affine, B-spline).
 */
async function registerDeformableRegion(
  fixed: Grid,
  moving: Grid,
  label: Volume,
  labelValues: Float32Array,
  affine: ParameterMap[],
  coarseTarget: ItkGeometry,
  movingFile: string,
): Promise<ParameterMap[]> {
  const margin = DEFORMABLE.cropMarginMm ?? 0;
  const warped = await transformix(
    itkImage(itkGeometry(label.affine, spatialDims(label)), labelValues, 'label'),
    withInterpolation(affine, 'nearest'),
    coarseTarget,
  );
  const fixedBox = boxWhere(warped.data!, warped.size);
  if (!fixedBox) throw new InputError(movingFile, "after affine registration its label lies outside the target's field of view");
  const ff = coarseFactors(fixed.spacing, REGISTRATION_MM);
  const fm = coarseFactors(moving.spacing, REGISTRATION_MM);
  const f = coarseCrop(fixed, ff, fixedBox, margin, 'fixed');
  const labelDims = spatialDims(label);
  const movingMask = blockMean(
    labelValues.map((v) => (v !== 0 ? 1 : 0)),
    labelDims,
    coarseFactors(label.spacing, REGISTRATION_MM),
  );
  const movingBox = boxWhere(
    movingMask,
    [0, 1, 2].map((k) => Math.max(1, Math.floor(labelDims[k] / coarseFactors(label.spacing, REGISTRATION_MM)[k]))),
  );
  // A label on another grid than its image cannot be boxed in the image's voxels: the whole image then.
  const sameGrid =
    spatialDims(moving).every((d, k) => d === labelDims[k]) && moving.affine.every((r, i) => r.every((x, j) => Math.abs(x - label.affine[i][j]) < 1e-4));
  const m = sameGrid && movingBox ? coarseCrop(moving, fm, movingBox, margin, 'moving') : coarseWhole(moving, fm, 'moving');
  const parameterMap = await defaultParameterMap('bspline', { numberOfResolutions: DEFORMABLE.resolutions, finalGridSpacing: BSPLINE_GRID_MM });
  const map: ParameterMap = {
    ...parameterMap,
    ...OVERRIDES.all,
    ...OVERRIDES.bspline,
    MaximumNumberOfIterations: [String(DEFORMABLE.iterations)],
    NumberOfSpatialSamples: [String(DEFORMABLE.samples)],
  };
  try {
    const out = await registerWithElastix([map], { fixed: f, moving: m, initialTransformParameterObject: affine });
    // elastix returns the new stage alone; the chain applies the affine stages first.
    return out.length === 1 ? [...affine, ...out] : out;
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw err;
    throw new InputError(movingFile, `registration failed (${elastixProblem(err)}): is it the same kind of scan?`);
  }
}

/** The ~2 mm block means of `g` inside `box` (coarse voxels) grown by `marginMm`, as an itk-wasm image. */
function coarseCrop(g: Grid, f: number[], box: VoxelBox, marginMm: number, name: string): ItkImageLike {
  const dims = spatialDims(g);
  const coarse = blockMean(g.values, dims, f);
  const cdims = [0, 1, 2].map((k) => Math.max(1, Math.floor(dims[k] / f[k])));
  const grow = [0, 1, 2].map((k) => Math.ceil(marginMm / (Math.abs(g.spacing[k] * f[k]) || 1)));
  const lo = [0, 1, 2].map((k) => Math.max(0, box.lo[k] - grow[k]));
  const hi = [0, 1, 2].map((k) => Math.min(cdims[k] - 1, box.hi[k] + grow[k]));
  const size = [0, 1, 2].map((k) => hi[k] - lo[k] + 1);
  const data = new Float32Array(size[0] * size[1] * size[2]);
  for (let z = 0, o = 0; z < size[2]; z++)
    for (let y = 0; y < size[1]; y++, o += size[0]) {
      const from = lo[0] + cdims[0] * (lo[1] + y + cdims[1] * (lo[2] + z));
      data.set(coarse.subarray(from, from + size[0]), o);
    }
  return itkImage(
    itkGeometry(
      g.affine,
      dims,
      f,
      lo.map((l, k) => l * f[k]),
      size,
    ),
    data,
    name,
  );
}

function coarseWhole(g: Grid, f: number[], name: string): ItkImageLike {
  return itkImage(itkGeometry(g.affine, spatialDims(g), f), blockMean(g.values, spatialDims(g), f), name);
}

interface Grid {
  dims: number[];
  spacing: number[];
  affine: number[][];
  values: Float32Array;
}

/**
 * Registration only (a compute job): `fixed` to `moving`, the transform written as JSON to `outFile`. Used
 * for alignment through a reference (each library pair to the reference once; each target to it per run).
 */
export async function registerOnly(job: TransformJob, progress: (p: StepProgress) => void): Promise<{ value: { seconds: number } }> {
  const t0 = performance.now();
  const open = async (v: TransformJob['fixed']) => {
    const vol = 'file' in v ? await readNifti(v.file) : (v.volume as unknown as Volume);
    const values = realValues(vol);
    if (isBlank(values)) throw new InputError('file' in v ? v.file : undefined, 'image is blank (every voxel has the same value): it cannot be registered');
    return { ...vol, values };
  };
  const fixed = await open(job.fixed);
  const moving = await open(job.moving);
  progress({ fraction: null, message: `registering ${job.mode}` });
  const maps = await registerImages(fixed, moving, job.mode, 'file' in job.moving ? job.moving.file : 'the target');
  await writeFile(job.outFile, JSON.stringify(maps));
  return { value: { seconds: (performance.now() - t0) / 1000 } };
}

async function registrationMaps(mode: RegisterJob['mode']): Promise<ParameterMap[]> {
  const maps: ParameterMap[] = [];
  for (const stage of stagesOf(mode)) {
    const parameterMap = await defaultParameterMap(stage, { numberOfResolutions: RESOLUTIONS, finalGridSpacing: BSPLINE_GRID_MM });
    maps.push({ ...parameterMap, ...OVERRIDES.all, ...OVERRIDES[stage] });
  }
  return maps;
}

function isBlank(v: Float32Array): boolean {
  const first = v[0];
  for (let i = 1; i < v.length; i++) if (v[i] !== first) return false;
  return true;
}

/** elastix reports failures as a long log; its "Description:" line (or the first line) says what happened. */
function elastixProblem(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const d = lines.find((l) => /^Description:/i.test(l));
  return (d ? d.replace(/^Description:\s*/i, '') : (lines[0] ?? 'unknown error')).slice(0, 200);
}

/** A box in the coarse registration grid as a box of the full target grid, widened by the warp margin. */
function toFullBox(c: VoxelBox, coarse: ItkGeometry, full: ItkGeometry, target: PlainVolume, dims: readonly number[], marginMm: number): VoxelBox {
  const f = [0, 1, 2].map((k) => Math.round(coarse.spacing[k] / full.spacing[k]));
  const margin = [0, 1, 2].map((k) => Math.ceil(marginMm / (Math.abs(target.spacing[k]) || 1)));
  const lo = [0, 1, 2].map((k) => Math.max(0, c.lo[k] * f[k] - margin[k])) as [number, number, number];
  const hi = [0, 1, 2].map((k) => Math.min(dims[k] - 1, c.hi[k] * f[k] + f[k] - 1 + margin[k])) as [number, number, number];
  return { lo, hi };
}

function paste(sub: Float32Array, box: VoxelBox, dims: readonly number[]): Float32Array {
  const [nx, ny] = dims;
  const out = new Float32Array(dims[0] * dims[1] * dims[2]);
  const sx = box.hi[0] - box.lo[0] + 1;
  let o = 0;
  for (let z = box.lo[2]; z <= box.hi[2]; z++) {
    for (let y = box.lo[1]; y <= box.hi[1]; y++, o += sx) {
      out.set(sub.subarray(o, o + sx), box.lo[0] + nx * (y + ny * z));
    }
  }
  return out;
}

/**
 * Warped values in the source's own storage type when that is exact (integer labels; integer images
 * rounded, which is what they were), so cached pairs stay small and label values are unchanged.
 */
function asStored(values: Float32Array, source: Volume): VoxelArray {
  const scaled = source.slope !== 1 || source.intercept !== 0;
  const Ctor = source.data.constructor as new (n: number) => VoxelArray;
  if (scaled || source.data instanceof Float32Array || source.data instanceof Float64Array) return values;
  const out = new Ctor(values.length);
  // Linear interpolation stays within the source's range, so rounding cannot overflow its type.
  for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i]);
  return out;
}

function onTargetGrid(target: PlainVolume, data: VoxelArray, description: string): Volume {
  return volumeOnGrid(target, data, description);
}

/** Async even here in a registration worker: the worker's thread stays free to answer a cancel or progress. */
function gz(v: Volume): Promise<Uint8Array> {
  return gzipAsync(encodeNifti(v), 3);
}
