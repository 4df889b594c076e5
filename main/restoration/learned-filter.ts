import type { Dims3 } from './nlm.js';

/**
 * A correction of the non-local means result learned from the example pairs at run time: per class of voxels
 * (how strong the local gradient of the NLM result is, in units of the noise σ), a linear filter from the NLM
 * result's 3³ neighbourhood and the noisy voxel itself to the clean voxel, fitted by ridge least squares on
 * the examples (the idea of RAISR's hashed filters, Romano et al. 2017, used here for denoising). It learns
 * what NLM blurs at edges and what it leaves in flat regions. Written by hand: it is a small normal-equation
 * solve per class, and no maintained JavaScript library does it on typed arrays.
 */
export interface LearnedFilter {
  /** Per class: weights of the features (features() below), the last one a bias, all in units of σ. */
  weights: number[][];
  /** How many extra NLM results (other strengths) it reads beside the first. */
  extras: number;
}

/** Gradient-magnitude class edges (in σ) and intensity class edges (in σ): dark (CSF, bone), middle, bright. */
const EDGES = [0.25, 0.5, 1, 2, 4];
const LEVELS = [6, 13];
const CLASSES = (EDGES.length + 1) * (LEVELS.length + 1);
const featureCount = (extras: number) => 27 + 7 * extras + 27 + 1;

/** One image's part in a fit: its NLM result, noisy input, clean target (or none when applying), σ, region. */
export interface FilterSample {
  /** The NLM result the filter corrects; its 3³ neighbourhood is read. */
  nlm: Float32Array;
  /** NLM results at other strengths: each voxel's value and its six face neighbours are read. */
  extra: Float32Array[];
  noisy: Float32Array;
  clean?: Float32Array;
  dims: Dims3;
  sigma: number;
  /** Voxels that count (1); their 6-neighbours must lie inside the grid. */
  mask: Uint8Array;
}

function classOf(nlm: Float32Array, i: number, nx: number, nxy: number, sigma: number): number {
  const gx = nlm[i + 1] - nlm[i - 1];
  const gy = nlm[i + nx] - nlm[i - nx];
  const gz = nlm[i + nxy] - nlm[i - nxy];
  const g = Math.sqrt(gx * gx + gy * gy + gz * gz) / (2 * sigma);
  let c = 0;
  while (c < EDGES.length && g >= EDGES[c]) c++;
  const v = nlm[i] / sigma;
  let l = 0;
  while (l < LEVELS.length && v >= LEVELS[l]) l++;
  return c * (LEVELS.length + 1) + l;
}

function features(s: FilterSample, i: number, out: Float64Array): void {
  const [nx, ny] = s.dims;
  const nxy = nx * ny;
  let f = 0;
  const inv = 1 / s.sigma;
  for (let dz = -1; dz <= 1; dz++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) out[f++] = s.nlm[i + dx + dy * nx + dz * nxy] * inv;
  for (let dz = -1; dz <= 1; dz++) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) out[f++] = s.noisy[i + dx + dy * nx + dz * nxy] * inv;
  for (const e of s.extra) {
    out[f++] = e[i] * inv;
    out[f++] = e[i - 1] * inv;
    out[f++] = e[i + 1] * inv;
    out[f++] = e[i - nx] * inv;
    out[f++] = e[i + nx] * inv;
    out[f++] = e[i - nxy] * inv;
    out[f++] = e[i + nxy] * inv;
  }
  out[f] = 1;
}

function inside(s: FilterSample, i: number): boolean {
  const [nx, ny, nz] = s.dims;
  const x = i % nx;
  const y = Math.floor(i / nx) % ny;
  const z = Math.floor(i / (nx * ny));
  return x > 0 && y > 0 && z > 0 && x < nx - 1 && y < ny - 1 && z < nz - 1;
}

/** Fits the filter on the samples' masked voxels (intensities in units of each sample's σ, so heads of other scales share it). */
export function fitFilter(samples: readonly FilterSample[], ridge = 1e-3): LearnedFilter {
  const classes = CLASSES;
  const extras = samples[0]?.extra.length ?? 0;
  const FEATURES = featureCount(extras);
  const ata = Array.from({ length: classes }, () => new Float64Array(FEATURES * FEATURES));
  const atb = Array.from({ length: classes }, () => new Float64Array(FEATURES));
  const f = new Float64Array(FEATURES);
  for (const s of samples) {
    if (s.extra.length !== extras) throw new Error('fitFilter: samples with different numbers of NLM results');
    if (!s.clean) throw new Error('fitFilter: a sample without its clean image');
    const [nx, ny] = s.dims;
    for (let i = 0; i < s.mask.length; i++) {
      if (s.mask[i] === 0 || !inside(s, i)) continue;
      const c = classOf(s.nlm, i, nx, nx * ny, s.sigma);
      features(s, i, f);
      const y = s.clean[i] / s.sigma;
      const A = ata[c];
      const B = atb[c];
      for (let a = 0; a < FEATURES; a++) {
        const fa = f[a];
        B[a] += fa * y;
        const row = a * FEATURES;
        for (let b = a; b < FEATURES; b++) A[row + b] += fa * f[b];
      }
    }
  }
  const weights = ata.map((A, c) => {
    for (let a = 0; a < FEATURES; a++) for (let b = 0; b < a; b++) A[a * FEATURES + b] = A[b * FEATURES + a];
    let trace = 0;
    for (let a = 0; a < FEATURES; a++) trace += A[a * FEATURES + a];
    // A class with too few voxels to fit keeps the NLM result (the centre weight 1).
    if (trace === 0 || A[FEATURES * FEATURES - 1] < 4 * FEATURES) return identity(FEATURES);
    const lambda = (ridge * trace) / FEATURES;
    for (let a = 0; a < FEATURES; a++) A[a * FEATURES + a] += lambda;
    // Shrink towards the identity filter, not towards zero: the ridge then only limits the correction.
    const id = identity(FEATURES);
    const rhs = Float64Array.from(atb[c]);
    for (let a = 0; a < FEATURES; a++) rhs[a] += lambda * id[a];
    return solveSymmetric(A, rhs, FEATURES) ?? identity(FEATURES);
  });
  return { weights, extras };
}

function identity(FEATURES: number): number[] {
  const w = new Array<number>(FEATURES).fill(0);
  w[13] = 1;
  return w;
}

/** Applies the filter where mask ≠ 0 (others keep the NLM result). */
export function applyFilter(filter: LearnedFilter, s: FilterSample): Float32Array {
  const out = Float32Array.from(s.nlm);
  const [nx, ny] = s.dims;
  const FEATURES = featureCount(filter.extras);
  if (s.extra.length !== filter.extras) throw new Error(`applyFilter: the filter reads ${filter.extras} extra NLM results, got ${s.extra.length}`);
  const f = new Float64Array(FEATURES);
  for (let i = 0; i < s.mask.length; i++) {
    if (s.mask[i] === 0 || !inside(s, i)) continue;
    const w = filter.weights[classOf(s.nlm, i, nx, nx * ny, s.sigma)];
    features(s, i, f);
    let y = 0;
    for (let a = 0; a < FEATURES; a++) y += w[a] * f[a];
    out[i] = y * s.sigma;
  }
  return out;
}

/** Cholesky solve of a symmetric positive definite system; null when it is not. */
function solveSymmetric(A: Float64Array, b: Float64Array, n: number): number[] | null {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (s <= 0) return null;
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j];
    }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}
