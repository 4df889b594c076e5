import { performance } from 'node:perf_hooks';
import { InputError } from '../common/errors.js';
import { percentile } from './head-mask.js';
import { headAndNoise, verdictOf } from './denoise.js';
import { type ExamplePair, type ExampleScore, type GuardVerdict } from './guard.js';
import type { Dims3 } from './nlm.js';

/**
 * Intensity non-uniformity (bias field) correction in the spirit of N4 (Tustison et al. 2010; N3, Sled et al.
 * 1998), written by hand (no maintained JavaScript port of N4 exists). Like N4 it works on log intensities
 * inside the head, alternates sharpening the intensity histogram (Wiener deconvolution of a Gaussian blur)
 * with fitting a smooth field to what the sharpening moved, and accumulates the field over iterations.
 * Simplified: the smooth field is a low-order polynomial in x, y, z (degree chosen from the examples) rather
 * than N4's multi-resolution B-spline lattice, fitted to a regular subsample of the head's voxels, with one
 * resolution level.
 */
export interface BiasOptions {
  /** Polynomial degree of the log-field. */
  degree: number;
  iterations?: number;
  /** Gaussian blur of the log-histogram assumed by the sharpening (FWHM, log units; N4's default 0.15). */
  fwhm?: number;
}

export const DEGREES = [2, 3, 4];
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

function leastSquares(basis: Float64Array, y: Float64Array, m: number): number[] {
  const n = y.length;
  const A = new Float64Array(m * m);
  const b = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const row = i * m;
    for (let a = 0; a < m; a++) {
      const fa = basis[row + a];
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

/** The multiplicative field exp(poly) on the whole grid. */
export function fieldOnGrid(coef: number[], degree: number, dims: Dims3): Float32Array {
  const [nx, ny, nz] = dims;
  const terms = monomials(degree);
  const out = new Float32Array(nx * ny * nz);
  const xs = Array.from({ length: nx }, (_, x) => norm(x, nx));
  for (let z = 0; z < nz; z++) {
    const zn = norm(z, nz);
    for (let y = 0; y < ny; y++) {
      const yn = norm(y, ny);
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

/** Corrects one image: its head, the field fitted there, the image divided by the field (same grid and units). */
export function correctBias(data: Float32Array, dims: Dims3, opts: BiasOptions, mask?: Uint8Array): { output: Float32Array; field: Float32Array } {
  const head = mask ?? headAndNoise(data, dims).mask;
  const coef = fitLogField(sampleHead(data, dims, head), opts);
  const field = fieldOnGrid(coef, opts.degree, dims);
  const output = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) output[i] = data[i] / field[i];
  return { output, field };
}

export interface BiasResult {
  output: Float32Array;
  degree: number;
  candidates: { degree: number; gainDb: number }[];
  examples: ExampleScore[];
  guard: GuardVerdict;
  seconds: { examples: number; target: number };
}

/**
 * Bias correction whose field order is chosen from the example (biased, corrected) pairs: each degree is run
 * on every example's input and scored against its target inside its head; the best is applied to the target.
 */
export async function correctBiasInContext(
  target: Float32Array,
  dims: Dims3,
  examples: readonly ExamplePair[],
  opts: { degree?: number; signal?: AbortSignal; onProgress?: (fraction: number | null, message: string) => void } = {},
): Promise<BiasResult> {
  const t0 = performance.now();
  if (examples.length === 0) throw new InputError(undefined, 'bias correction chooses its field from examples: give at least one pair', 'usage');
  const degrees = opts.degree ? [opts.degree] : DEGREES;
  const perDegree = degrees.map(() => [] as ExampleScore[]);
  for (let e = 0; e < examples.length; e++) {
    opts.signal?.throwIfAborted();
    opts.onProgress?.(e / (examples.length + 1), `bias field of example ${examples[e].name}`);
    const ex = await examples[e].read();
    const { mask } = headAndNoise(ex.input, ex.dims);
    const piece = { example: 0, input: ex.input, target: ex.target, score: mask, peak: 0 };
    for (let i = 0; i < mask.length; i++) if (mask[i] && ex.target[i] > piece.peak) piece.peak = ex.target[i];
    const samples = sampleHead(ex.input, ex.dims, mask);
    degrees.forEach((degree, d) => {
      const coef = fitLogField(samples, { degree });
      const field = fieldOnGrid(coef, degree, ex.dims);
      const out = new Float32Array(ex.input.length);
      for (let i = 0; i < out.length; i++) out[i] = ex.input[i] / field[i];
      perDegree[d].push(scoreOne(examples[e].name, piece, out));
    });
  }
  const gains = perDegree.map((s) => s.reduce((a, x) => a + x.outputPsnr - x.inputPsnr, 0) / s.length);
  const bestIdx = gains.indexOf(Math.max(...gains));
  const degree = degrees[bestIdx];
  const t1 = performance.now();
  opts.onProgress?.(examples.length / (examples.length + 1), `correcting the target's bias field (degree ${degree})`);
  const { output } = correctBias(target, dims, { degree });
  return {
    output,
    degree,
    candidates: degrees.map((d, k) => ({ degree: d, gainDb: gains[k] })),
    examples: perDegree[bestIdx],
    guard: verdictOf(perDegree[bestIdx], 'bias-field correction'),
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
