import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import { percentile } from './head-mask.js';
import { headAndNoise, verdictOf } from './denoise.js';
import { type ExamplePair, type ExampleScore, type GuardVerdict } from './guard.js';
import type { Dims3 } from './nlm.js';

/**
 * Intensity non-uniformity (bias field) correction, written by hand (no maintained JavaScript port of N4
 * exists). The field is a low-order polynomial of log intensity in x, y, z, estimated one of two ways (which
 * one, and its degree, chosen from the examples):
 * - `peaks`: the field is what moves one tissue's intensity across the head. The head is cut into blocks; in
 *   each, the peak of the local log-intensity histogram (one tissue, nearly flat inside a block); the blocks
 *   whose peak belongs to the tissue most blocks peak at (white matter in a T1) give the field at their centre,
 *   and a robust (Tukey-weighted) fit smooths them. Edges, CSF, skull and partial volume never enter: they are
 *   not a block's peak. This is how FreeSurfer's mri_normalize and most segmentation-based corrections anchor
 *   the field; it does not fit anatomy where there is little bias to remove.
 * - `n3`: N3/N4's iteration (Sled et al. 1998; Tustison et al. 2010) on a regular subsample of the head:
 *   sharpen the histogram of the corrected log intensities (Wiener deconvolution of a Gaussian blur), fit the
 *   field to what the sharpening moved, accumulate. Simplified against N4: one polynomial, one resolution, no
 *   mask weighting, so with little bias it partly fits anatomy.
 */
export type FieldFit = 'peaks' | 'n3';

export interface BiasOptions {
  /** Polynomial degree of the log-field. */
  degree: number;
  /** How the field is estimated (default `n3`). */
  fit?: FieldFit;
  iterations?: number;
  /** Gaussian blur of the log-histogram assumed by the sharpening (FWHM, log units; N4's default 0.15). */
  fwhm?: number;
}

/** A fitted log-field: polynomial coefficients and, for `peaks`, the box (in [-1, 1] coordinates) it was measured in. */
export interface LogField {
  coef: number[];
  degree: number;
  /** Outside this box the field is held at its value on the box's face: a polynomial fitted inside diverges outside. */
  box?: { lo: [number, number, number]; hi: [number, number, number] };
}

/** The candidates tried on the examples (`peaks` first: on a tie it wins). */
export const CANDIDATES: readonly { fit: FieldFit; degree: number }[] = [
  { fit: 'peaks', degree: 2 },
  { fit: 'peaks', degree: 3 },
  { fit: 'n3', degree: 2 },
];
const SAMPLES = 40_000;

interface Samples {
  coords: Float64Array; // x, y, z in [-1, 1]
  logs: Float64Array;
}

function monomials(degree: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let a = 0; a <= degree; a++) for (let b = 0; a + b <= degree; b++) for (let c = 0; a + b + c <= degree; c++) out.push([a, b, c]);
  return out;
}

function norm(v: number, n: number): number {
  return n > 1 ? (2 * v) / (n - 1) - 1 : 0;
}

function sampleHead(data: Float32Array, dims: Dims3, mask: Uint8Array): Samples {
  const [nx, ny, nz] = dims;
  let inside = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) inside++;
  const step = Math.max(1, Math.round(Math.cbrt(inside / SAMPLES)));
  // Dark voxels (bone, CSF, air) carry noise, not the field: only the upper part of the head's intensities.
  const floor = 0.1 * percentile(data, 0.99);
  const coords: number[] = [];
  const logs: number[] = [];
  for (let z = 0; z < nz; z += step)
    for (let y = 0; y < ny; y += step)
      for (let x = 0; x < nx; x += step) {
        const i = x + nx * (y + ny * z);
        if (mask[i] === 0 || !(data[i] > floor)) continue;
        coords.push(norm(x, nx), norm(y, ny), norm(z, nz));
        logs.push(Math.log(data[i]));
      }
  return { coords: Float64Array.from(coords), logs: Float64Array.from(logs) };
}

/** The log-field polynomial's coefficients: N3/N4's iteration on the samples. */
export function fitLogField(s: Samples, opts: BiasOptions): number[] {
  const terms = monomials(opts.degree);
  const n = s.logs.length;
  if (n < terms.length * 10) throw new InputError(undefined, 'too few head voxels to estimate a bias field');
  const basis = new Float64Array(n * terms.length);
  for (let i = 0; i < n; i++) {
    const [x, y, z] = [s.coords[3 * i], s.coords[3 * i + 1], s.coords[3 * i + 2]];
    terms.forEach(([a, b, c], t) => (basis[i * terms.length + t] = x ** a * y ** b * z ** c));
  }
  let coef = new Array<number>(terms.length).fill(0);
  const field = new Float64Array(n);
  const u = new Float64Array(n);
  for (let it = 0; it < (opts.iterations ?? 30); it++) {
    for (let i = 0; i < n; i++) u[i] = s.logs[i] - field[i];
    const sharp = sharpen(u, opts.fwhm ?? 0.15);
    // What sharpening would move each voxel by, plus the field so far, is the new field's target.
    const residual = new Float64Array(n);
    for (let i = 0; i < n; i++) residual[i] = u[i] - sharp[i] + field[i];
    const next = leastSquares(basis, residual, terms.length);
    let change = 0;
    for (let i = 0; i < n; i++) {
      let f = 0;
      for (let t = 0; t < terms.length; t++) f += basis[i * terms.length + t] * next[t];
      change += (f - field[i]) ** 2;
      field[i] = f;
    }
    coef = next;
    if (Math.sqrt(change / n) < 1e-4) break;
  }
  // The field carries no overall scale: the corrected head keeps its mean log intensity (its units).
  let mean = 0;
  for (let i = 0; i < n; i++) mean += field[i];
  coef[0] -= mean / n;
  return coef;
}

/**
 * N3's histogram sharpening: the histogram of u deconvolved with a Gaussian (Wiener filter), then each value
 * mapped to its expected value under the sharpened distribution given the blur.
 */
function sharpen(u: Float64Array, fwhm: number): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of u) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const bins = 200;
  const width = (hi - lo) / (bins - 1) || 1e-6;
  const h = new Float64Array(bins);
  for (const v of u) {
    const p = (v - lo) / width;
    const k = Math.min(bins - 2, Math.floor(p));
    const f = p - k;
    h[k] += 1 - f;
    h[k + 1] += f;
  }
  const N = 512;
  const sigmaBins = fwhm / width / (2 * Math.sqrt(2 * Math.LN2));
  const g = new Float64Array(N);
  for (let k = 0; k < N; k++) {
    const d = k <= N / 2 ? k : k - N;
    g[k] = Math.exp(-(d * d) / (2 * sigmaBins * sigmaBins));
  }
  const gs = g.reduce((a, b) => a + b, 0);
  for (let k = 0; k < N; k++) g[k] /= gs;
  const [gr, gi] = dft(g, null, false);
  const hp = new Float64Array(N);
  hp.set(h, 0);
  const [hr, hi2] = dft(hp, null, false);
  const z = 0.01;
  const fr = new Float64Array(N);
  const fi = new Float64Array(N);
  for (let k = 0; k < N; k++) {
    const m2 = gr[k] * gr[k] + gi[k] * gi[k];
    // conj(G) / (|G|² + Z) · H
    const wr = gr[k] / (m2 + z);
    const wi = -gi[k] / (m2 + z);
    fr[k] = wr * hr[k] - wi * hi2[k];
    fi[k] = wr * hi2[k] + wi * hr[k];
  }
  const [fRe] = dft(fr, fi, true);
  const sharpHist = new Float64Array(bins);
  for (let k = 0; k < bins; k++) sharpHist[k] = Math.max(0, fRe[k]);
  // E[v | u] = (G * (v·F))(u) / (G * F)(u)
  const num = new Float64Array(N);
  const den = new Float64Array(N);
  for (let k = 0; k < bins; k++) {
    num[k] = sharpHist[k] * (lo + k * width);
    den[k] = sharpHist[k];
  }
  const conv = (x: Float64Array) => {
    const [xr, xi] = dft(x, null, false);
    const yr = new Float64Array(N);
    const yi = new Float64Array(N);
    for (let k = 0; k < N; k++) {
      yr[k] = xr[k] * gr[k] - xi[k] * gi[k];
      yi[k] = xr[k] * gi[k] + xi[k] * gr[k];
    }
    return dft(yr, yi, true)[0];
  };
  const cn = conv(num);
  const cd = conv(den);
  const map = new Float64Array(bins);
  for (let k = 0; k < bins; k++) map[k] = cd[k] > 1e-12 ? cn[k] / cd[k] : lo + k * width;
  const out = new Float64Array(u.length);
  for (let i = 0; i < u.length; i++) {
    const p = (u[i] - lo) / width;
    const k = Math.min(bins - 2, Math.max(0, Math.floor(p)));
    const f = p - k;
    out[i] = map[k] * (1 - f) + map[k + 1] * f;
  }
  return out;
}

/** A plain O(N²) DFT: 512 points a few times per iteration cost nothing next to the field fit. */
function dft(re: Float64Array, im: Float64Array | null, inverse: boolean): [Float64Array, Float64Array] {
  const N = re.length;
  const outR = new Float64Array(N);
  const outI = new Float64Array(N);
  const sign = inverse ? 1 : -1;
  const cos = new Float64Array(N);
  const sin = new Float64Array(N);
  for (let k = 0; k < N; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / N);
    sin[k] = sign * Math.sin((2 * Math.PI * k) / N);
  }
  for (let k = 0; k < N; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < N; t++) {
      const a = (k * t) % N;
      const xr = re[t];
      const xi = im ? im[t] : 0;
      sr += xr * cos[a] - xi * sin[a];
      si += xr * sin[a] + xi * cos[a];
    }
    outR[k] = inverse ? sr / N : sr;
    outI[k] = inverse ? si / N : si;
  }
  return [outR, outI];
}

function leastSquares(basis: Float64Array, y: Float64Array, m: number, weights?: Float64Array): number[] {
  const n = y.length;
  const A = new Float64Array(m * m);
  const b = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i] : 1;
    if (w === 0) continue;
    const row = i * m;
    for (let a = 0; a < m; a++) {
      const fa = w * basis[row + a];
      b[a] += fa * y[i];
      for (let c = a; c < m; c++) A[a * m + c] += fa * basis[row + c];
    }
  }
  for (let a = 0; a < m; a++) {
    for (let c = 0; c < a; c++) A[a * m + c] = A[c * m + a];
    A[a * m + a] *= 1 + 1e-9;
  }
  // Gaussian elimination with partial pivoting: m ≤ 35.
  const M = Array.from({ length: m }, (_, r) => [...A.subarray(r * m, r * m + m), b[r]]);
  for (let i = 0; i < m; i++) {
    let p = i;
    for (let k = i + 1; k < m; k++) if (Math.abs(M[k][i]) > Math.abs(M[p][i])) p = k;
    [M[i], M[p]] = [M[p], M[i]];
    if (M[i][i] === 0) continue;
    for (let k = i + 1; k < m; k++) {
      const f = M[k][i] / M[i][i];
      for (let j = i; j <= m; j++) M[k][j] -= f * M[i][j];
    }
  }
  const x = new Array<number>(m).fill(0);
  for (let i = m - 1; i >= 0; i--) {
    let s = M[i][m];
    for (let j = i + 1; j < m; j++) s -= M[i][j] * x[j];
    x[i] = M[i][i] === 0 ? 0 : s / M[i][i];
  }
  return x;
}

/**
 * The `peaks` field (see the top of this file). Block edge: a sixteenth of the grid's shortest side, 4–16
 * voxels (16 mm on a 1 mm head: the field moves a block's peak by well under a bin). Log-histogram bins of
 * 0.005 summed over five (±1.25 %), a block's peak counting when at least a fortieth of a full block sits in
 * it; the reference tissue is the mode of the accepted blocks' peaks (0.01 bins), a block belongs to it when
 * its peak lies within ±0.15 (the field's range; another tissue's peak is further: grey matter sits ~0.35
 * below white matter in a T1).
 */
export function fitPeakField(data: Float32Array, dims: Dims3, mask: Uint8Array, degree: number): LogField {
  const [nx, ny, nz] = dims;
  const K = Math.max(4, Math.min(16, Math.round(Math.min(nx, ny, nz) / 16)));
  const [bx, by, bz] = [Math.ceil(nx / K), Math.ceil(ny / K), Math.ceil(nz / K)];
  const floor = 0.1 * percentile(data, 0.99);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    if (mask[i] === 0 || !(data[i] > floor)) continue;
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  if (!(hi > lo)) return { coef: new Array<number>(monomials(degree).length).fill(0), degree };
  lo = Math.log(lo);
  const nb = Math.floor((Math.log(hi) - lo) / PEAK_BIN) + 1;
  const nBlocks = bx * by * bz;
  const count = new Float64Array(nBlocks);
  const centre = new Float64Array(3 * nBlocks);
  // One histogram row per block that has head voxels: indices into `hist`.
  const row = new Int32Array(nBlocks).fill(-1);
  for (let z = 0, i = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++, i++) {
        if (mask[i] === 0 || !(data[i] > floor)) continue;
        const b = Math.floor(x / K) + bx * (Math.floor(y / K) + by * Math.floor(z / K));
        count[b]++;
        centre[3 * b] += x;
        centre[3 * b + 1] += y;
        centre[3 * b + 2] += z;
      }
  let rows = 0;
  for (let b = 0; b < nBlocks; b++) if (count[b] > 0) row[b] = rows++;
  const hist = new Float32Array(rows * nb);
  for (let z = 0, i = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++, i++) {
        if (mask[i] === 0 || !(data[i] > floor)) continue;
        const b = Math.floor(x / K) + bx * (Math.floor(y / K) + by * Math.floor(z / K));
        hist[row[b] * nb + Math.min(nb - 1, Math.floor((Math.log(data[i]) - lo) / PEAK_BIN))]++;
      }
  const minCount = Math.max(8, K ** 3 / 40);
  const peak: { b: number; at: number; n: number }[] = [];
  for (let b = 0; b < nBlocks; b++) {
    if (row[b] < 0) continue;
    const h = hist.subarray(row[b] * nb, row[b] * nb + nb);
    let best = -1;
    let bestN = 0;
    let run = 0;
    for (let k = 0; k < nb + 2; k++) {
      run += k < nb ? h[k] : 0;
      if (k >= 5) run -= h[k - 5];
      if (run > bestN) {
        bestN = run;
        best = k - 2;
      }
    }
    if (bestN >= minCount) peak.push({ b, at: lo + (best + 0.5) * PEAK_BIN, n: bestN });
  }
  const terms = monomials(degree);
  if (peak.length < 3 * terms.length) return { coef: new Array<number>(terms.length).fill(0), degree };
  // The reference tissue: where most blocks (by voxels in their peak) peak.
  const modes = new Float64Array(Math.floor((Math.log(hi) - lo) / 0.01) + 3);
  for (const p of peak) modes[Math.floor((p.at - lo) / 0.01)] += p.n;
  let ref = 0;
  let refN = -1;
  for (let k = 0; k < modes.length; k++) {
    const s = (modes[k - 2] ?? 0) + (modes[k - 1] ?? 0) + modes[k] + (modes[k + 1] ?? 0) + (modes[k + 2] ?? 0);
    if (s > refN) {
      refN = s;
      ref = lo + (k + 0.5) * 0.01;
    }
  }
  const used = peak.filter((p) => Math.abs(p.at - ref) < PEAK_WINDOW);
  if (used.length < 3 * terms.length) return { coef: new Array<number>(terms.length).fill(0), degree };
  const m = terms.length;
  const basis = new Float64Array(used.length * m);
  const y = new Float64Array(used.length);
  const boxLo: [number, number, number] = [Infinity, Infinity, Infinity];
  const boxHi: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  used.forEach((p, j) => {
    const c = [0, 1, 2].map((a) => norm(centre[3 * p.b + a] / count[p.b], dims[a]));
    for (let a = 0; a < 3; a++) {
      boxLo[a] = Math.min(boxLo[a], c[a]);
      boxHi[a] = Math.max(boxHi[a], c[a]);
    }
    terms.forEach(([ea, eb, ec], t) => (basis[j * m + t] = c[0] ** ea * c[1] ** eb * c[2] ** ec));
    y[j] = p.at - ref;
  });
  // Tukey's biweight on the residuals: blocks whose peak is another tissue or a partial-volume mix drop out.
  // It starts from no field (the peaks' median), not from a plain fit: blocks of another tissue that fall in
  // the window (scalp, muscle) sit together at the head's rim, where a plain fit would bend to them.
  const w = new Float64Array(used.length);
  let coef = new Array<number>(m).fill(0);
  coef[0] = median(Array.from(y));
  for (let round = 0; round < 6; round++) {
    const res = used.map((_, j) => {
      let f = 0;
      for (let t = 0; t < m; t++) f += basis[j * m + t] * coef[t];
      return y[j] - f;
    });
    const scale = 1.4826 * median(res.map(Math.abs)) + 2e-3;
    res.forEach((r, j) => (w[j] = used[j].n * Math.max(0, 1 - (r / (4.685 * scale)) ** 2) ** 2));
    coef = leastSquares(basis, y, m, w);
  }
  const field: LogField = { coef, degree, box: { lo: boxLo, hi: boxHi } };
  // The field carries no overall scale: the corrected head keeps its mean log intensity (its units).
  coef[0] -= meanOverHead(field, dims, mask, data, floor);
  return field;
}

const PEAK_BIN = 0.005;
const PEAK_WINDOW = 0.15;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : 0;
}

/** Mean of the log-field over the head's voxels above `floor`, on a regular subsample. */
function meanOverHead(field: LogField, dims: Dims3, mask: Uint8Array, data: Float32Array, floor: number): number {
  const [nx, ny, nz] = dims;
  const step = Math.max(1, Math.round(Math.cbrt(mask.length / 2e5)));
  let s = 0;
  let n = 0;
  for (let z = 0; z < nz; z += step)
    for (let y = 0; y < ny; y += step)
      for (let x = 0; x < nx; x += step) {
        const i = x + nx * (y + ny * z);
        if (mask[i] === 0 || !(data[i] > floor)) continue;
        s += logFieldAt(field, norm(x, nx), norm(y, ny), norm(z, nz));
        n++;
      }
  return n ? s / n : 0;
}

function clampTo(v: number, field: LogField, axis: number): number {
  return field.box ? Math.min(field.box.hi[axis], Math.max(field.box.lo[axis], v)) : v;
}

function logFieldAt(field: LogField, x: number, y: number, z: number): number {
  const [cx, cy, cz] = [clampTo(x, field, 0), clampTo(y, field, 1), clampTo(z, field, 2)];
  let v = 0;
  monomials(field.degree).forEach(([a, b, c], t) => (v += field.coef[t] * cx ** a * cy ** b * cz ** c));
  return v;
}

/** The multiplicative field exp(poly) on the whole grid. */
export function fieldOnGrid(field: LogField, dims: Dims3): Float32Array {
  const [nx, ny, nz] = dims;
  const { coef, degree } = field;
  const terms = monomials(degree);
  const out = new Float32Array(nx * ny * nz);
  const xs = Array.from({ length: nx }, (_, x) => clampTo(norm(x, nx), field, 0));
  for (let z = 0; z < nz; z++) {
    const zn = clampTo(norm(z, nz), field, 2);
    for (let y = 0; y < ny; y++) {
      const yn = clampTo(norm(y, ny), field, 1);
      // Per row, the polynomial in x alone: its coefficients from the y and z powers.
      const cx = new Float64Array(degree + 1);
      terms.forEach(([a, b, c], t) => (cx[a] += coef[t] * yn ** b * zn ** c));
      const row = nx * (y + ny * z);
      for (let x = 0; x < nx; x++) {
        let v = 0;
        for (let a = degree; a >= 0; a--) v = v * xs[x] + cx[a];
        out[row + x] = Math.exp(v);
      }
    }
  }
  return out;
}

/** The log-field of one image, estimated inside its head mask. */
export function estimateField(data: Float32Array, dims: Dims3, mask: Uint8Array, opts: BiasOptions): LogField {
  if (opts.fit === 'peaks') return fitPeakField(data, dims, mask, opts.degree);
  return { coef: fitLogField(sampleHead(data, dims, mask), opts), degree: opts.degree };
}

/** Corrects one image: its head, the field fitted there, the image divided by the field (same grid and units). */
export function correctBias(data: Float32Array, dims: Dims3, opts: BiasOptions, mask?: Uint8Array): { output: Float32Array; field: Float32Array } {
  const head = mask ?? headAndNoise(data, dims).mask;
  const field = fieldOnGrid(estimateField(data, dims, head, opts), dims);
  const output = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) output[i] = data[i] / field[i];
  return { output, field };
}

export interface BiasResult {
  output: Float32Array;
  fit: FieldFit;
  degree: number;
  candidates: { fit: FieldFit; degree: number; gainDb: number }[];
  examples: ExampleScore[];
  guard: GuardVerdict;
  seconds: { examples: number; target: number };
}

/**
 * Bias correction whose estimator and field order are chosen from the example (biased, corrected) pairs: each
 * candidate is run on every example's input and scored against its target inside its head; the one with the
 * best mean gain is applied to the target.
 */
export async function correctBiasInContext(
  target: Float32Array,
  dims: Dims3,
  examples: readonly ExamplePair[],
  opts: { degree?: number; fit?: FieldFit; signal?: AbortSignal; onProgress?: (fraction: number | null, message: string) => void } = {},
): Promise<BiasResult> {
  const t0 = performance.now();
  if (examples.length === 0) throw new InputError(undefined, 'bias correction chooses its field from examples: give at least one pair', 'usage');
  const candidates = CANDIDATES.filter((c) => (!opts.degree || c.degree === opts.degree) && (!opts.fit || c.fit === opts.fit));
  if (candidates.length === 0) candidates.push({ fit: opts.fit ?? 'peaks', degree: opts.degree ?? 2 });
  const perCandidate = candidates.map(() => [] as ExampleScore[]);
  for (let e = 0; e < examples.length; e++) {
    opts.signal?.throwIfAborted();
    opts.onProgress?.(e / (examples.length + 1), `bias field of example ${examples[e].name}`);
    const ex = await examples[e].read();
    const { mask } = headAndNoise(ex.input, ex.dims);
    const piece = { example: 0, input: ex.input, target: ex.target, score: mask, peak: 0 };
    for (let i = 0; i < mask.length; i++) if (mask[i] && ex.target[i] > piece.peak) piece.peak = ex.target[i];
    candidates.forEach((c, k) => {
      const field = fieldOnGrid(estimateField(ex.input, ex.dims, mask, c), ex.dims);
      const out = new Float32Array(ex.input.length);
      for (let i = 0; i < out.length; i++) out[i] = ex.input[i] / field[i];
      perCandidate[k].push(scoreOne(examples[e].name, piece, out));
    });
  }
  const gains = perCandidate.map((s) => s.reduce((a, x) => a + x.outputPsnr - x.inputPsnr, 0) / s.length);
  const bestIdx = gains.indexOf(Math.max(...gains));
  const best = candidates[bestIdx];
  const t1 = performance.now();
  opts.onProgress?.(examples.length / (examples.length + 1), `correcting the target's bias field (${best.fit}, degree ${best.degree})`);
  const { output } = correctBias(target, dims, best);
  return {
    output,
    fit: best.fit,
    degree: best.degree,
    candidates: candidates.map((c, k) => ({ ...c, gainDb: gains[k] })),
    examples: perCandidate[bestIdx],
    guard: verdictOf(perCandidate[bestIdx], `bias-field correction (${best.fit}, degree ${best.degree})`),
    seconds: { examples: (t1 - t0) / 1000, target: (performance.now() - t1) / 1000 },
  };
}

function scoreOne(name: string, p: { input: Float32Array; target: Float32Array; score: Uint8Array; peak: number }, out: Float32Array): ExampleScore {
  let a = 0;
  let b = 0;
  let n = 0;
  for (let i = 0; i < p.score.length; i++) {
    if (!p.score[i]) continue;
    a += (p.input[i] - p.target[i]) ** 2;
    b += (out[i] - p.target[i]) ** 2;
    n++;
  }
  const psnr = (e: number) => (e === 0 ? Infinity : 10 * Math.log10((p.peak * p.peak) / (e / n)));
  return { name, inputPsnr: psnr(a), outputPsnr: psnr(b) };
}
