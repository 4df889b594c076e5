import type { AlignMode } from './types.js';

/** elastix parameter map: each key holds a list of strings, as in its text parameter files. */
export type ParameterMap = Record<string, string[]>;

/** Registration runs on copies at about this voxel size (measured: 1 mm costs 1.5–4× the time for ±0.05 Dice). */
export const REGISTRATION_MM = 2;

/**
 * Our settings on top of elastix's own default maps (read from the library at run time, so its tuned
 * defaults stay the source). Each line is here for a measured reason, see docs/alignment.md.
 */
export const OVERRIDES: Record<'rigid' | 'affine' | 'bspline' | 'all', ParameterMap> = {
  all: {
    // Reruns must give the same transform: the cache and the tests rely on it.
    RandomSeed: ['121212'],
    ResultImagePixelType: ['float'],
    // No resampled image at the end of a registration: nothing reads it (transformix resamples what is needed).
    WriteResultImage: ['false'],
  },
  rigid: {
    // Heads of different people sit ~20 mm apart in scanner space: start from the centres of gravity.
    AutomaticTransformInitialization: ['true'],
    AutomaticTransformInitializationMethod: ['CenterOfGravity'],
  },
  affine: {},
  bspline: {
    // 128 iterations per level instead of 256: about half the B-spline time for a few hundredths of Dice.
    MaximumNumberOfIterations: ['128'],
  },
};

export const BSPLINE_GRID_MM = 10;
export const RESOLUTIONS = 4;

/**
 * The deformable stage after the affine one (docs/alignment.md, "Fast deformable alignment"): only the region
 * that matters is registered, both images cropped to it: the target around where the affinely aligned label map
 * lies (for a whole-head label map, the brain), the pair around its own label map, each grown by `cropMarginMm`;
 * with its own resolutions, iterations and samples. `cropMarginMm` null: the whole heads, in one elastix call
 * with the affine stages (as before). Every field is part of the cache key.
 */
export const DEFORMABLE = {
  cropMarginMm: 10 as number | null,
  resolutions: 3,
  iterations: 64,
  samples: 2048,
};

/** The stages of a mode, in order. */
export function stagesOf(mode: AlignMode): ('rigid' | 'affine' | 'bspline')[] {
  if (mode === 'affine') return ['rigid', 'affine'];
  if (mode === 'deformable') return ['rigid', 'affine', 'bspline'];
  return [];
}

/** What identifies a registration's settings in the cache key (elastix's defaults come with its version). */
export function parameterKey(mode: AlignMode, elastixVersion: string): string {
  return JSON.stringify({
    mode,
    elastixVersion,
    REGISTRATION_MM,
    BSPLINE_GRID_MM,
    RESOLUTIONS,
    OVERRIDES: stagesOf(mode).map((s) => OVERRIDES[s]),
    ...(mode === 'deformable' ? { DEFORMABLE } : {}),
    all: OVERRIDES.all,
  });
}

/**
 * A transform that maps every point to itself, in elastix's transform-parameter form: `none` alignment
 * then resamples through transformix exactly like the registered modes (scanner coordinates kept).
 */
export function identityTransform(grid: { origin: number[]; spacing: number[]; direction: number[]; size: number[] }): ParameterMap {
  const f = (xs: number[]) => xs.map((x) => x.toString());
  return {
    Transform: ['TranslationTransform'],
    NumberOfParameters: ['3'],
    TransformParameters: ['0', '0', '0'],
    InitialTransformParameterFileName: ['NoInitialTransform'],
    HowToCombineTransforms: ['Compose'],
    FixedImageDimension: ['3'],
    MovingImageDimension: ['3'],
    FixedInternalImagePixelType: ['float'],
    MovingInternalImagePixelType: ['float'],
    Size: f(grid.size),
    Index: ['0', '0', '0'],
    Spacing: f(grid.spacing),
    Origin: f(grid.origin),
    Direction: f(columnMajor(grid.direction)),
    UseDirectionCosines: ['true'],
    Resampler: ['DefaultResampler'],
    DefaultPixelValue: ['0'],
    ResultImageFormat: ['nii'],
    ResultImagePixelType: ['float'],
    ResampleInterpolator: ['FinalNearestNeighborInterpolator'],
    FinalBSplineInterpolationOrder: ['0'],
  };
}

/** elastix writes Direction column by column (ITK's matrix read down its columns). */
function columnMajor(rowMajor: number[]): number[] {
  const out: number[] = [];
  for (let c = 0; c < 3; c++) for (let r = 0; r < 3; r++) out.push(rowMajor[r * 3 + c]);
  return out;
}

/** Sets how transformix resamples with a transform parameter object (every map of the chain). */
export function withInterpolation(maps: ParameterMap[], kind: 'nearest' | 'linear'): ParameterMap[] {
  return maps.map((m) => ({
    ...m,
    ResampleInterpolator: [kind === 'nearest' ? 'FinalNearestNeighborInterpolator' : 'FinalLinearInterpolator'],
    FinalBSplineInterpolationOrder: [kind === 'nearest' ? '0' : '1'],
    ResultImagePixelType: ['float'],
  }));
}

/** The elastix build whose default maps we start from (package.json pins it; a test checks they agree). */
export const ELASTIX_PACKAGE = '@itk-wasm/elastix@1.0.1';
