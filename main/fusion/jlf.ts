/**
 * Joint label fusion (Wang, Suh, Das, Pluta, Craige, Yushkevich, IEEE TPAMI 2013) with a local search
 * (Coupé et al., NeuroImage 2011), on crops that share one voxel grid: the target's image and every aligned
 * atlas's image and membership (0/1 of the structure). Written by hand: no JavaScript library does it, and
 * the work is only where the atlases disagree, which a general patch library would not know.
 *
 * At a voxel x, each atlas i contributes the label at x + sᵢ, where sᵢ is the offset within the search window
 * whose patch best matches the target's patch at x (least sum of squared differences). With dᵢ the patch of
 * absolute differences at that offset, M(i, j) = (Σ dᵢ·dⱼ / (|patch| − 1))^β: atlases that err together are
 * counted once.
 * The weights w = (M + αI)⁻¹1, normalised to sum to one, give the probability p = Σ wᵢ·labelᵢ(x + sᵢ).
 */

import type { IntensityMatch } from './match-intensities.js';
import { dilateCube } from './dilate.js';

export interface JlfParams {
  /** Patch half-width in voxels (2: 5×5×5 patches). */
  patchRadius: number;
  /** Search half-width in voxels (3: a 7×7×7 window); 0: no search. */
  searchRadius: number;
  /**
   * Ridge added to M's diagonal, on the scale of the mean error product over a patch: it keeps the system solvable
   * when atlases match perfectly and pulls the weights towards equal ones where all atlases match about as well.
   */
  alpha: number;
  /** Power of the error correlation: larger β lets the best-matching atlases dominate. */
  beta: number;
  /**
   * Which voxels are computed: where the atlases disagree (0), or also where any atlas's label changes within
   * this many voxels (the search can move a boundary that all atlases put in the same place). Elsewhere every
   * atlas says the same and that is the answer.
   */
  regionRadius: number;
  /**
   * How each pair's image is brought onto the target's intensities before the patches are compared, from the
   * medians under the pair's own labels (match-intensities.ts); done where the pairs are read (jlf-job.ts).
   */
  match: IntensityMatch;
}

/**
 * Published defaults (Wang et al. 2013): patch radius 2, search radius 3, α = 0.1, β = 2; and the region grown by
 * 2 voxels (measured on the dev heads, affine: +0.018 mean Dice of 4 over the disagreement alone, docs/alignment.md).
 */
export const JLF_DEFAULTS: JlfParams = { patchRadius: 2, searchRadius: 3, alpha: 0.1, beta: 2, regionRadius: 2, match: 'none' };

/**
 * Aseg labels of the deep grey nuclei whose border with the white matter has next to no contrast on T1: thalamus
 * (10, 49) and putamen (12, 51), the two measured (docs/alignment.md, "Starter library: rendered borders and the
 * search"). Pallidum and caudate were not measured and keep the defaults.
 */
const LOW_CONTRAST_NUCLEI = new Set([10, 49, 12, 51]);

/**
 * The settings for pairs rendered from label maps (the starter set): a search of one voxel, not three, for the
 * low-contrast nuclei. A rendered head draws an edge where its label map changes; the target has none there, and a
 * wide search then follows texture and shrinks the nucleus (thalamus 0.79 → 0.83, putamen 0.69 → 0.76 Dice on the
 * dev heads with a radius of 1). Where the edge is real (ventricles, hippocampus) the wide search gains, and stays.
 */
export function jlfSyntheticParams(labels?: readonly number[]): JlfParams {
  const nuclei = labels !== undefined && labels.length > 0 && labels.every((l) => LOW_CONTRAST_NUCLEI.has(l));
  return nuclei ? { ...JLF_DEFAULTS, searchRadius: 1 } : JLF_DEFAULTS;
}

export interface JlfCrops {
  /** Size of every crop, x fastest. */
  dims: [number, number, number];
  /** The target's intensities. */
  target: Float32Array;
  /** Per atlas: its aligned image and its 0/1 membership of the structure. */
  atlases: { image: Float32Array; label: Uint8Array }[];
  /**
   * Where to take each image's mean and deviation for z-scoring (the brain, e.g. where most aligned label maps
   * have any label); the whole crop when absent or nearly empty.
   */
  normalizeMask?: Uint8Array;
  /** Compute only inside this box of the crop (inclusive; the rest is margin another job may own); default all. */
  core?: { lo: number[]; hi: number[] };
}

export interface JlfResult {
  /** Fused probability of the structure per crop voxel (agreed voxels: 0 or 1). */
  probability: Float32Array;
  /** Voxels that were computed (the rest were agreed). */
  computed: number;
}

/** Margin (voxels) a crop needs around the atlases' union box so every computed voxel's patches fit. */
export function jlfMargin(p: JlfParams): number {
  return p.patchRadius + p.searchRadius + p.regionRadius;
}

export function jointLabelFusion(c: JlfCrops, p: JlfParams = JLF_DEFAULTS, signal?: AbortSignal): JlfResult {
  const n = c.atlases.length;
  if (n < 1) throw new Error('joint label fusion needs at least one atlas');
  const [nx, ny, nz] = c.dims;
  const size = nx * ny * nz;
  for (const a of c.atlases) if (a.image.length !== size || a.label.length !== size) throw new Error('atlas crops must match the target crop');
  const count = new Uint16Array(size);
  for (const a of c.atlases) for (let i = 0; i < size; i++) count[i] += a.label[i];
  const probability = new Float32Array(size);
  for (let i = 0; i < size; i++) probability[i] = count[i] === n ? 1 : 0;

  const region = regionVoxels(count, n, c.dims, p.regionRadius, p.patchRadius + p.searchRadius, c.core);
  if (region.length === 0 || n === 1) {
    // One atlas (or unanimous atlases): its labels are the answer; a search alone has nothing to weigh.
    if (n === 1) for (const i of region) probability[i] = c.atlases[0].label[i];
    return { probability, computed: n === 1 ? 0 : region.length };
  }

  const target = zScore(c.target, c.normalizeMask);
  const images = c.atlases.map((a) => zScore(a.image, c.normalizeMask));
  // Best offset per atlas and computed voxel, as a flat index shift in the crop.
  const shifts = c.atlases.map((_, k) => bestShifts(target, images[k], c.dims, region, p.patchRadius, p.searchRadius, signal));

  const r = p.patchRadius;
  const patch: number[] = [];
  for (let dz = -r; dz <= r; dz++) for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) patch.push(dx + nx * (dy + ny * dz));
  const diffs = c.atlases.map(() => new Float64Array(patch.length));
  const m = new Float64Array(n * n);
  const w = new Float64Array(n);
  for (let v = 0; v < region.length; v++) {
    if ((v & 4095) === 0) signal?.throwIfAborted();
    const x = region[v];
    for (let k = 0; k < n; k++) {
      const s = x + shifts[k][v];
      const img = images[k];
      const d = diffs[k];
      for (let q = 0; q < patch.length; q++) d[q] = Math.abs(target[x + patch[q]] - img[s + patch[q]]);
    }
    jlfWeightsInto(diffs, p.alpha, p.beta, m, w);
    let prob = 0;
    for (let k = 0; k < n; k++) prob += w[k] * c.atlases[k].label[x + shifts[k][v]];
    // Weights may be negative (JLF does not constrain them), so the sum can leave [0, 1] slightly.
    probability[x] = prob < 0 ? 0 : prob > 1 ? 1 : prob;
  }
  return { probability, computed: region.length };
}

/** JLF weights of atlases whose absolute patch differences are `diffs` (one array per atlas); they sum to one. */
export function jlfWeights(diffs: ArrayLike<number>[], alpha: number, beta: number): Float64Array {
  const n = diffs.length;
  const w = new Float64Array(n);
  jlfWeightsInto(diffs, alpha, beta, new Float64Array(n * n), w);
  return w;
}

function jlfWeightsInto(diffs: ArrayLike<number>[], alpha: number, beta: number, m: Float64Array, w: Float64Array): void {
  const n = diffs.length;
  // The mean product over the patch (over |patch| − 1, as in the authors' own implementation in ANTs), not the sum:
  // α then has the scale it was published with, whatever the patch size. Over the sum, α = 0.1 was 124^β times
  // weaker for 5³ patches (15 376× at β = 2), next to no ridge (docs/alignment.md: the dev heads' mean Dice 0.848
  // over the sum, 0.8625 over the mean).
  const per = 1 / Math.max((diffs[0]?.length ?? 0) - 1, 1);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const a = diffs[i];
      const b = diffs[j];
      let s = 0;
      for (let q = 0; q < a.length; q++) s += a[q] * b[q];
      const v = Math.pow(s * per, beta);
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
    m[i * n + i] += alpha;
  }
  // M + αI is symmetric positive definite (a Gram matrix, its elementwise power, plus a ridge): Cholesky.
  if (!choleskySolveOnes(m, n, w)) w.fill(1);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += w[i];
  if (!(Math.abs(sum) > 1e-300) || !Number.isFinite(sum)) {
    w.fill(1 / n);
    return;
  }
  for (let i = 0; i < n; i++) w[i] /= sum;
}

/** Solves A·x = 1 in place of A (n×n, row-major) by Cholesky; false when A is not positive definite. */
function choleskySolveOnes(a: Float64Array, n: number, x: Float64Array): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / l;
    }
  }
  for (let i = 0; i < n; i++) {
    let s = 1;
    for (let k = 0; k < i; k++) s -= a[i * n + k] * x[k];
    x[i] = s / a[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < n; k++) s -= a[k * n + i] * x[k];
    x[i] = s / a[i * n + i];
  }
  return true;
}

/**
 * Crop indices of the voxels to compute: where the atlases' memberships differ (0 < count < n), or with a
 * region radius where any atlas's membership changes within that many voxels; only voxels at least `inner`
 * from the crop's border (their patches and search windows must fit).
 */
export function regionVoxels(
  count: Uint16Array,
  n: number,
  dims: readonly number[],
  radius: number,
  inner: number,
  core?: { lo: number[]; hi: number[] },
): Int32Array {
  const [nx, ny] = dims;
  let anyIn: Uint8Array;
  let allIn: Uint8Array;
  if (radius > 0) {
    anyIn = new Uint8Array(count.length);
    allIn = new Uint8Array(count.length);
    for (let i = 0; i < count.length; i++) {
      anyIn[i] = count[i] > 0 ? 1 : 0;
      allIn[i] = count[i] === n ? 1 : 0;
    }
    anyIn = dilateCube(anyIn, dims, radius);
    // Erosion of "all in" is 1 − dilation of "not all in".
    for (let i = 0; i < allIn.length; i++) allIn[i] = 1 - allIn[i];
    allIn = dilateCube(allIn, dims, radius);
    for (let i = 0; i < allIn.length; i++) allIn[i] = 1 - allIn[i];
  }
  const out: number[] = [];
  const lo = [0, 1, 2].map((k) => Math.max(inner, core?.lo[k] ?? 0));
  const hi = [0, 1, 2].map((k) => Math.min(dims[k] - 1 - inner, core?.hi[k] ?? dims[k]));
  for (let z = lo[2]; z <= hi[2]; z++)
    for (let y = lo[1]; y <= hi[1]; y++)
      for (let x = lo[0], i = lo[0] + nx * (y + ny * z); x <= hi[0]; x++, i++) {
        const c = count[i];
        const todo = radius > 0 ? anyIn![i] === 1 && allIn![i] === 0 : c > 0 && c < n;
        if (todo) out.push(i);
      }
  return Int32Array.from(out);
}

/** Intensities minus their mean, over their standard deviation, both taken inside `mask` (else everywhere). */
function zScore(v: Float32Array, mask?: Uint8Array): Float32Array {
  let useMask = mask;
  if (useMask) {
    let m = 0;
    for (let i = 0; i < useMask.length; i++) m += useMask[i];
    if (m < 64) useMask = undefined;
  }
  let n = 0;
  let s = 0;
  let ss = 0;
  for (let i = 0; i < v.length; i++) {
    if (useMask && !useMask[i]) continue;
    n++;
    s += v[i];
    ss += v[i] * v[i];
  }
  const mean = n ? s / n : 0;
  const sd = n ? Math.sqrt(Math.max(ss / n - mean * mean, 0)) : 1;
  const scale = sd > 1e-12 ? 1 / sd : 1;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = (v[i] - mean) * scale;
  return out;
}

/**
 * For every region voxel, the flat shift within the search window whose patch of `atlas` best matches the
 * target's patch (least sum of squared differences; no shift wins ties). One pass per shift: squared
 * differences over the region's box grown by the patch radius, summed by three running sums (separable box
 * filter), so a shift costs a few operations per voxel whatever the patch size.
 */
function bestShifts(
  target: Float32Array,
  atlas: Float32Array,
  dims: readonly number[],
  region: Int32Array,
  pr: number,
  sr: number,
  signal?: AbortSignal,
): Int32Array {
  const [nx, ny] = dims;
  const shifts = new Int32Array(region.length);
  // The region's box in crop coordinates.
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  for (const i of region) {
    const c = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
    for (let k = 0; k < 3; k++) {
      if (c[k] < lo[k]) lo[k] = c[k];
      if (c[k] > hi[k]) hi[k] = c[k];
    }
  }
  // Box of patch centres' supports: region box ± pr.
  const b0 = lo.map((l) => l - pr);
  const bs = [0, 1, 2].map((k) => hi[k] - lo[k] + 1 + 2 * pr);
  const [bx, by, bz] = bs;
  const bsize = bx * by * bz;
  const d2 = new Float32Array(bsize);
  const t1 = new Float32Array(bsize);
  const t2 = new Float32Array(bsize);
  const best = new Float32Array(region.length).fill(Infinity);
  // Region voxel → its index in the box of sums (whose x range is the region's, offset by pr).
  const at = new Int32Array(region.length);
  for (let v = 0; v < region.length; v++) {
    const i = region[v];
    const x = (i % nx) - b0[0];
    const y = (Math.floor(i / nx) % ny) - b0[1];
    const z = Math.floor(i / (nx * ny)) - b0[2];
    at[v] = x + bx * (y + by * z);
  }
  const offsets: number[][] = [[0, 0, 0]];
  for (let dz = -sr; dz <= sr; dz++) for (let dy = -sr; dy <= sr; dy++) for (let dx = -sr; dx <= sr; dx++) if (dx || dy || dz) offsets.push([dx, dy, dz]);
  const w = 2 * pr + 1;
  for (const [dx, dy, dz] of offsets) {
    signal?.throwIfAborted();
    const shift = dx + nx * (dy + ny * dz);
    for (let z = 0, o = 0; z < bz; z++)
      for (let y = 0; y < by; y++) {
        let i = b0[0] + nx * (b0[1] + y + ny * (b0[2] + z));
        for (let x = 0; x < bx; x++, o++, i++) {
          const e = target[i] - atlas[i + shift];
          d2[o] = e * e;
        }
      }
    // Running sums along x, then y, then z: t at the window's centre holds the sum over the window.
    boxSum(d2, t1, bs, 0, w);
    boxSum(t1, t2, bs, 1, w);
    boxSum(t2, d2, bs, 2, w);
    for (let v = 0; v < region.length; v++) {
      const s = d2[at[v]];
      if (s < best[v]) {
        best[v] = s;
        shifts[v] = shift;
      }
    }
  }
  return shifts;
}

/** Sum over a window of `w` voxels along one axis, written at the window's centre (edges left as partial sums). */
function boxSum(src: Float32Array, dst: Float32Array, dims: readonly number[], axis: number, w: number): void {
  const [bx, by, bz] = dims;
  const stride = axis === 0 ? 1 : axis === 1 ? bx : bx * by;
  const len = dims[axis];
  const r = (w - 1) / 2;
  const lines = (bx * by * bz) / len;
  for (let l = 0; l < lines; l++) {
    // Start of the l-th line along `axis`.
    let base: number;
    if (axis === 0) base = l * bx;
    else if (axis === 1) base = (l % bx) + bx * by * Math.floor(l / bx);
    else base = l;
    let s = 0;
    for (let t = 0; t < Math.min(w - 1, len); t++) s += src[base + t * stride];
    for (let c = r; c < len - r; c++) {
      s += src[base + (c + r) * stride];
      dst[base + c * stride] = s;
      s -= src[base + (c - r) * stride];
    }
  }
}
