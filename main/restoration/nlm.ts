/**
 * Non-local means on a 3-D grid (Buades et al. 2005; Coupé et al. 2008's optimised form for MRI), written by
 * hand: no maintained JavaScript library does 3-D NLM, and the per-offset formulation below (Darbon et al. 2008)
 * is what makes it fast enough for 256³ heads on two cores. For every offset o of the search window, the
 * squared difference image (g(x) − g(x + o))² of the guide is box-filtered once (the patch distance of every
 * voxel for that offset, separable running sums instead of a patch loop), and the weight then serves both x
 * and x + o (the window is symmetric, so only half of its offsets are visited).
 *
 * Variants (each selected from the example pairs at run time, restoration/select.ts):
 *  - `sub`: the distance's expected noise part subtracted before weighting (scikit-image's max(d² − 2σ², 0)),
 *  - `rician`: squared magnitudes averaged and 2σ² removed (Manjón et al. 2008's bias correction),
 *  - a `guide` other than the noisy image: patch distances read from a prefiltered image while the noisy values
 *    are averaged (the idea of Manjón et al. 2012's PRI-NLM, with NLM itself as the prefilter).
 */

export type Dims3 = readonly [number, number, number];

export interface NlmParams {
  /** Filtering strength in intensity units: weight exp(−max(d − sub, 0) / h²), d the mean squared patch difference. */
  h: number;
  /** Subtracted from d before weighting (intensity²): 2σ² for a noisy guide, 0 for a prefiltered one. */
  sub: number;
  /** Average squared values and subtract 2σ² (Rician magnitude data). */
  rician: boolean;
}

export interface NlmOptions {
  patchRadius: number;
  searchRadius: number;
  /** Noise σ of `values` (intensity units), for the Rician correction. */
  sigma: number;
  /** Only voxels with mask ≠ 0 are filtered (others keep their value); all when absent. */
  mask?: Uint8Array;
}

/**
 * One output per parameter set, all from one pass over the offsets (the distances are shared, so trying
 * several strengths on the examples costs little more than one).
 */
export function nlmFilter(values: Float32Array, guide: Float32Array, dims: Dims3, params: readonly NlmParams[], opts: NlmOptions): Float32Array[] {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  if (values.length !== n || guide.length !== n) throw new Error(`nlmFilter: arrays of ${values.length}/${guide.length} voxels for a ${nx}×${ny}×${nz} grid`);
  const { patchRadius: pr, searchRadius: sr } = opts;
  const mask = opts.mask ?? new Uint8Array(n).fill(1);
  const patchVoxels = (2 * pr + 1) ** 3;
  const m = params.length;
  const squares = new Float32Array(params.some((p) => p.rician) ? n : 0);
  for (let i = 0; i < squares.length; i++) squares[i] = values[i] * values[i];
  const src = params.map((p) => (p.rician ? squares : values));
  const acc = params.map(() => new Float32Array(n));
  const wsum = params.map(() => new Float32Array(n));
  const wmax = params.map(() => new Float32Array(n));
  const diff = new Float32Array(n);
  const tmp = new Float32Array(n);
  // exp(−t) tabulated: the exponential is most of the inner loop's cost otherwise. Weights below e^−TMAX are 0.
  const TMAX = 12;
  const STEPS = 4096;
  const table = new Float32Array(STEPS + 1);
  for (let k = 0; k <= STEPS; k++) table[k] = Math.exp((-k * TMAX) / STEPS);
  const scale = Float64Array.from(params, (p) => STEPS / (TMAX * p.h * p.h * patchVoxels));
  const subSum = Float64Array.from(params, (p) => p.sub * patchVoxels);
  // Work only on the rows' stretches near the mask: a voxel pairs with partners up to sr away, and its patch
  // distance reads differences up to pr further.
  const [lo, hi] = rowRanges(mask, dims, sr + pr);

  for (let dz = 0; dz <= sr; dz++) {
    for (let dy = -sr; dy <= sr; dy++) {
      for (let dx = -sr; dx <= sr; dx++) {
        // Half of the window: the other half is the same weight seen from x + o.
        if (dz === 0 && (dy < 0 || (dy === 0 && dx <= 0))) continue;
        const off = dx + nx * (dy + ny * dz);
        const x0 = Math.max(0, -dx);
        const x1 = Math.min(nx, nx - dx);
        const y0 = Math.max(0, -dy);
        const y1 = Math.min(ny, ny - dy);
        const z1 = nz - dz;
        if (x0 >= x1 || y0 >= y1 || z1 <= 0) continue;
        // Differences whose partner lies outside the grid count as 0 (as if the patch were clipped there).
        for (let z = 0; z < nz; z++)
          for (let y = 0; y < ny; y++) {
            const r = y + ny * z;
            const base = nx * r;
            if (z >= z1 || y < y0 || y >= y1) {
              diff.fill(0, base + lo[r], base + Math.max(lo[r], hi[r]));
              continue;
            }
            const a = Math.max(x0, lo[r]);
            const b = Math.min(x1, hi[r]);
            if (a > lo[r]) diff.fill(0, base + lo[r], base + Math.min(a, hi[r]));
            if (hi[r] > b) diff.fill(0, base + Math.max(b, lo[r]), base + hi[r]);
            for (let i = base + a, end = base + b; i < end; i++) {
              const d = guide[i] - guide[i + off];
              diff[i] = d * d;
            }
          }
        if (pr === 1) box3(diff, tmp, dims, lo, hi);
        else boxSum(diff, tmp, dims, pr);
        for (let z = 0; z < z1; z++)
          for (let y = y0; y < y1; y++) {
            const r = y + ny * z;
            const a = Math.max(x0, lo[r]);
            const b = Math.min(x1, hi[r]);
            for (let i = nx * r + a, end = nx * r + b; i < end; i++) {
              const j = i + off;
              if (mask[i] === 0 && mask[j] === 0) continue;
              const d = diff[i];
              for (let k = 0; k < m; k++) {
                let t = (d - subSum[k]) * scale[k];
                if (t >= STEPS) continue;
                if (t < 0) t = 0;
                const w = table[t | 0];
                const v = src[k];
                const ak = acc[k];
                const sk = wsum[k];
                const mk = wmax[k];
                ak[i] += w * v[j];
                sk[i] += w;
                if (w > mk[i]) mk[i] = w;
                ak[j] += w * v[i];
                sk[j] += w;
                if (w > mk[j]) mk[j] = w;
              }
            }
          }
      }
    }
  }

  const twoSigma2 = 2 * opts.sigma * opts.sigma;
  return params.map((p, k) => {
    const out = new Float32Array(n);
    const a = acc[k];
    const s = wsum[k];
    const mx = wmax[k];
    const v = src[k];
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0 || s[i] === 0) {
        out[i] = values[i];
        continue;
      }
      // The voxel itself weighs as much as its most similar neighbour (Coupé et al. 2008), not 1.
      const self = mx[i];
      const mean = (a[i] + self * v[i]) / (s[i] + self);
      out[i] = p.rician ? Math.sqrt(Math.max(mean - twoSigma2, 0)) : mean;
    }
    return out;
  });
}

/**
 * For each row (y, z), the stretch [lo, hi) of x within Chebyshev distance `grow` of a mask voxel, so the
 * filter touches only the head and its rim.
 */
function rowRanges(mask: Uint8Array, dims: Dims3, grow: number): [Int32Array, Int32Array] {
  const [nx, ny, nz] = dims;
  const rows = ny * nz;
  const lo0 = new Int32Array(rows).fill(nx);
  const hi0 = new Int32Array(rows).fill(0);
  for (let r = 0; r < rows; r++) {
    const base = r * nx;
    for (let x = 0; x < nx; x++)
      if (mask[base + x] !== 0) {
        if (x < lo0[r]) lo0[r] = x;
        hi0[r] = x + 1;
      }
  }
  const lo = new Int32Array(rows).fill(nx);
  const hi = new Int32Array(rows).fill(0);
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++) {
      let a = nx;
      let b = 0;
      for (let zz = Math.max(0, z - grow); zz <= Math.min(nz - 1, z + grow); zz++)
        for (let yy = Math.max(0, y - grow); yy <= Math.min(ny - 1, y + grow); yy++) {
          const q = yy + ny * zz;
          if (hi0[q] > lo0[q]) {
            if (lo0[q] < a) a = lo0[q];
            if (hi0[q] > b) b = hi0[q];
          }
        }
      const r = y + ny * z;
      if (b > a) {
        lo[r] = Math.max(0, a - grow);
        hi[r] = Math.min(nx, b + grow);
      } else {
        lo[r] = 0;
        hi[r] = 0;
      }
    }
  return [lo, hi];
}

/**
 * In-place 3³ box sum over the rows' stretches [lo, hi), three contiguous passes (a strided line pass along z
 * would miss the cache on every voxel). Values read outside a stretch may be stale; only voxels at least one
 * voxel inside the stretches of their neighbouring rows are used by the caller, and those read fresh ones.
 */
function box3(data: Float32Array, tmp: Float32Array, dims: Dims3, lo: Int32Array, hi: Int32Array): void {
  const [nx, ny, nz] = dims;
  const nxy = nx * ny;
  for (let r = 0; r < ny * nz; r++) {
    const base = r * nx;
    for (let x = lo[r]; x < hi[r]; x++) {
      const i = base + x;
      tmp[i] = (x > 0 ? data[i - 1] : 0) + data[i] + (x < nx - 1 ? data[i + 1] : 0);
    }
  }
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++) {
      const r = y + ny * z;
      const base = r * nx;
      for (let x = lo[r]; x < hi[r]; x++) {
        const i = base + x;
        data[i] = (y > 0 ? tmp[i - nx] : 0) + tmp[i] + (y < ny - 1 ? tmp[i + nx] : 0);
      }
    }
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++) {
      const r = y + ny * z;
      const base = r * nx;
      for (let x = lo[r]; x < hi[r]; x++) {
        const i = base + x;
        tmp[i] = (z > 0 ? data[i - nxy] : 0) + data[i] + (z < nz - 1 ? data[i + nxy] : 0);
      }
    }
  for (let r = 0; r < ny * nz; r++) {
    const base = r * nx;
    for (let x = lo[r]; x < hi[r]; x++) data[base + x] = tmp[base + x];
  }
}

/** In-place separable box sum of radius r (windows clipped at the grid's edges). */
export function boxSum(data: Float32Array, tmp: Float32Array, dims: Dims3, r: number): void {
  if (r === 0) return;
  const [nx, ny, nz] = dims;
  lineSums(data, tmp, nx, 1, ny * nz, (l) => (l % ny) * nx + Math.floor(l / ny) * nx * ny, r);
  lineSums(tmp, data, ny, nx, nx * nz, (l) => (l % nx) + Math.floor(l / nx) * nx * ny, r);
  lineSums(data, tmp, nz, nx * ny, nx * ny, (l) => l, r);
  data.set(tmp);
}

function lineSums(src: Float32Array, dst: Float32Array, len: number, stride: number, lines: number, start: (line: number) => number, r: number): void {
  for (let l = 0; l < lines; l++) {
    const s0 = start(l);
    let sum = 0;
    for (let t = 0; t < Math.min(r, len); t++) sum += src[s0 + t * stride];
    for (let t = 0; t < len; t++) {
      if (t + r < len) sum += src[s0 + (t + r) * stride];
      if (t - r - 1 >= 0) sum -= src[s0 + (t - r - 1) * stride];
      dst[s0 + t * stride] = sum;
    }
  }
}
