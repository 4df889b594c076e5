import { brainMask } from './brain-mask.js';
import { distanceToOutside, gaussian, type Dims } from './filters.js';

/** One case's image: one or more co-registered channels (FLAIR first, then T1c, T1, T2…) on one voxel grid. */
export interface LesionImage {
  /** Real voxel values per channel, NIfTI order. The first channel defines the brain mask. */
  channels: Float32Array[];
  dims: Dims;
  /** Voxel size in mm. */
  spacing: readonly number[];
  /** The voxel axis closest to left–right (for the mirror feature); 0 in RAS-ish grids. */
  lrAxis: number;
}

/** Scales of the features, in mm (chosen on the glioma and MS dev cases, docs/lesions.md). */
export const FEATURE_SCALES = { smooth: [1, 2, 4, 8], localStd: [2, 4], mirror: 4 } as const;

/**
 * Per-voxel features inside the brain, on the grid cropped to the brain's box: for every channel its intensity
 * normalised by the median and interquartile range inside the brain (sources differ: z-scored float, int16,
 * uint8), that intensity smoothed at a few scales and its local standard deviation (normalised convolution: the
 * brain's edge does not pull values towards the background), and the difference with the mirror image across the
 * brain's left–right centre (a tumour or a plaque is rarely symmetric); then the distance to the brain's edge.
 */
export interface FeatureSet {
  names: string[];
  /** Features per row. */
  width: number;
  /** Row-major, rows × width. */
  values: Float32Array;
  /** Crop-grid index of every row (the brain's voxels in scan order). */
  rows: Int32Array;
  /** The crop: its grid and where it starts in the full grid. */
  crop: { dims: Dims; origin: [number, number, number] };
  fullDims: Dims;
  spacing: readonly number[];
  /** Brain mask on the crop grid. */
  brain: Uint8Array;
}

/** The brain (brain-mask.ts) cropped to its box, with the crop-grid index of each of its voxels in scan order. */
export function brainCrop(image: LesionImage): Pick<FeatureSet, 'brain' | 'rows' | 'crop'> {
  const { dims } = image;
  if (image.channels.length === 0) throw new Error('lesion features need at least one image channel');
  const full = brainMask(image.channels[0], dims);
  const box = boundingBox(full, dims);
  if (!box) throw new Error('the image has no voxel above its background: no brain to look for lesions in');
  const crop = { dims: [box.hi[0] - box.lo[0] + 1, box.hi[1] - box.lo[1] + 1, box.hi[2] - box.lo[2] + 1] as Dims, origin: box.lo };
  const brain = cropArray(full, dims, crop, Uint8Array);
  let count = 0;
  for (let i = 0; i < brain.length; i++) count += brain[i];
  const rows = new Int32Array(count);
  for (let i = 0, r = 0; i < brain.length; i++) if (brain[i]) rows[r++] = i;
  return { brain, rows, crop };
}

export function lesionFeatures(image: LesionImage, options: { mirror?: boolean; edgeCapMm?: number } = {}): FeatureSet {
  const { dims, spacing } = image;
  const { brain, rows, crop } = brainCrop(image);
  const n = brain.length;
  const count = rows.length;

  const maskF = new Float32Array(n);
  for (let i = 0; i < n; i++) maskF[i] = brain[i];
  const sigmas = [...new Set<number>([...FEATURE_SCALES.smooth, ...FEATURE_SCALES.localStd, FEATURE_SCALES.mirror])];
  const weight = new Map(sigmas.map((s) => [s, gaussian(maskF, crop.dims, spacing, s)]));

  const columns: { name: string; data: Float32Array }[] = [];
  image.channels.forEach((channel, c) => {
    const z = normalised(cropArray(channel, dims, crop, Float32Array), brain);
    const tag = `c${c}`;
    columns.push({ name: `${tag}`, data: z });
    const smoothed = new Map<number, Float32Array>();
    for (const s of sigmas) smoothed.set(s, divide(gaussian(z, crop.dims, spacing, s), weight.get(s)!, brain));
    for (const s of FEATURE_SCALES.smooth) columns.push({ name: `${tag}.g${s}`, data: smoothed.get(s)! });
    const z2 = new Float32Array(n);
    for (let i = 0; i < n; i++) z2[i] = z[i] * z[i];
    for (const s of FEATURE_SCALES.localStd) {
      const m2 = divide(gaussian(z2, crop.dims, spacing, s), weight.get(s)!, brain);
      const m = smoothed.get(s)!;
      const sd = new Float32Array(n);
      for (let i = 0; i < n; i++) sd[i] = Math.sqrt(Math.max(0, m2[i] - m[i] * m[i]));
      columns.push({ name: `${tag}.sd${s}`, data: sd });
    }
    if (options.mirror)
      columns.push({
        name: `${tag}.mirror${FEATURE_SCALES.mirror}`,
        data: mirrorDifference(smoothed.get(FEATURE_SCALES.mirror)!, brain, crop.dims, image.lrAxis),
      });
  });
  // Capped: near the edge (partial volume, CSF, stripping residue) the distance says something about any voxel;
  // deeper, it would only say where the examples' lesions happened to be.
  const cap = options.edgeCapMm ?? Infinity;
  if (cap > 0) {
    const edge = distanceToOutside(brain, crop.dims, spacing);
    for (let i = 0; i < edge.length; i++) if (edge[i] > cap) edge[i] = cap;
    columns.push({ name: 'edge.mm', data: edge });
  }

  const width = columns.length;
  const values = new Float32Array(count * width);
  columns.forEach(({ data }, f) => {
    for (let r = 0; r < count; r++) values[r * width + f] = data[rows[r]];
  });
  return { names: columns.map((c) => c.name), width, values, rows, crop, fullDims: dims, spacing, brain };
}

/** (x − median) / IQR inside the brain, 0 outside; an IQR of 0 (a constant image) falls back to 1. */
export function normalised(x: Float32Array, brain: Uint8Array): Float32Array {
  const inside: number[] = [];
  // A strided sample is enough for quantiles and keeps this O(n) in time and small in memory.
  let count = 0;
  for (let i = 0; i < x.length; i++) count += brain[i];
  const step = Math.max(1, Math.floor(count / 200_000));
  for (let i = 0, seen = 0; i < x.length; i++) if (brain[i] && seen++ % step === 0) inside.push(x[i]);
  const sorted = Float64Array.from(inside).sort();
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const median = q(0.5);
  const iqr = q(0.75) - q(0.25) || 1;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = brain[i] ? (x[i] - median) / iqr : 0;
  return out;
}

function divide(a: Float32Array, w: Float32Array, brain: Uint8Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = brain[i] && w[i] > 1e-6 ? a[i] / w[i] : 0;
  return a;
}

/** a − a mirrored across the brain's centre along `axis`; 0 where the mirror falls outside the brain. */
function mirrorDifference(a: Float32Array, brain: Uint8Array, [nx, ny, nz]: Dims, axis: number): Float32Array {
  const stride = axis === 0 ? 1 : axis === 1 ? nx : nx * ny;
  const len = axis === 0 ? nx : axis === 1 ? ny : nz;
  let sum = 0;
  let count = 0;
  for (let v = 0; v < brain.length; v++)
    if (brain[v]) {
      sum += Math.floor(v / stride) % len;
      count++;
    }
  const centre2 = Math.round((2 * sum) / Math.max(1, count));
  const out = new Float32Array(a.length);
  for (let v = 0; v < brain.length; v++) {
    if (!brain[v]) continue;
    const i = Math.floor(v / stride) % len;
    const m = centre2 - i;
    if (m < 0 || m >= len) continue;
    const w = v + (m - i) * stride;
    if (brain[w]) out[v] = a[v] - a[w];
  }
  return out;
}

function boundingBox(mask: Uint8Array, [nx, ny, nz]: Dims): { lo: [number, number, number]; hi: [number, number, number] } | null {
  const lo: [number, number, number] = [nx, ny, nz];
  const hi: [number, number, number] = [-1, -1, -1];
  for (let k = 0, v = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, v++) {
        if (!mask[v]) continue;
        if (i < lo[0]) lo[0] = i;
        if (i > hi[0]) hi[0] = i;
        if (j < lo[1]) lo[1] = j;
        if (j > hi[1]) hi[1] = j;
        if (k < lo[2]) lo[2] = k;
        if (k > hi[2]) hi[2] = k;
      }
  return hi[0] < 0 ? null : { lo, hi };
}

type TypedCtor<T> = new (n: number) => T;

/** The crop's part of a full-grid array. */
export function cropArray<T extends Float32Array | Uint8Array>(src: ArrayLike<number>, [nx, ny]: Dims, crop: FeatureSet['crop'], ctor: TypedCtor<T>): T {
  const [cx, cy, cz] = crop.dims;
  const [ox, oy, oz] = crop.origin;
  const out = new ctor(cx * cy * cz);
  for (let k = 0, v = 0; k < cz; k++)
    for (let j = 0; j < cy; j++) {
      const base = ox + (oy + j) * nx + (oz + k) * nx * ny;
      for (let i = 0; i < cx; i++, v++) out[v] = src[base + i];
    }
  return out;
}

/** A crop-grid mask placed back into a full grid of zeros. */
export function uncropMask(src: Uint8Array, fullDims: Dims, crop: FeatureSet['crop']): Uint8Array {
  const [nx, ny, nz] = fullDims;
  const [cx, cy, cz] = crop.dims;
  const [ox, oy, oz] = crop.origin;
  const out = new Uint8Array(nx * ny * nz);
  for (let k = 0, v = 0; k < cz; k++)
    for (let j = 0; j < cy; j++) {
      const base = ox + (oy + j) * nx + (oz + k) * nx * ny;
      for (let i = 0; i < cx; i++, v++) out[base + i] = src[v];
    }
  return out;
}
