/**
 * The few 3-D filters the lesion features need, written here because they are small and no maintained npm package
 * does separable 3-D filtering on typed arrays (image-js and ndarray's are 2-D or unmaintained): Gaussian
 * smoothing (separable: truncated at 3σ, or three box filters for wide kernels) and the exact Euclidean distance transform (Felzenszwalb & Huttenlocher,
 * lower envelope of parabolas, one axis at a time) in millimetres.
 */

export type Dims = readonly [number, number, number];

/** From this σ (voxels) on, a Gaussian is approximated by successive box filters. */
const BOX_FROM_SIGMA = 2;

/** Normalised 1-D Gaussian taps for σ in voxels (a single tap 1 for σ ≤ 0). */
function kernel(sigmaVox: number): Float32Array {
  if (!(sigmaVox > 0)) return Float32Array.of(1);
  const r = Math.max(1, Math.ceil(3 * sigmaVox));
  const k = new Float32Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp((-i * i) / (2 * sigmaVox * sigmaVox));
  for (let i = 0; i < k.length; i++) k[i] /= s;
  return k;
}

/**
 * Gaussian smoothing of `src` (σ in mm per axis, through `spacing`), zero outside the grid. Callers divide by the
 * smoothed mask (normalised convolution) so the brain's edge does not pull values towards the background.
 */
export function gaussian(src: Float32Array, dims: Dims, spacing: readonly number[], sigmaMm: number): Float32Array {
  let a = src.slice();
  let b = new Float32Array(src.length);
  for (let axis = 0; axis < 3; axis++) {
    const sigma = sigmaMm / (spacing[axis] || 1);
    if (!(sigma > 0)) continue;
    // Wide kernels as three box filters (within a few per cent of the Gaussian, a fraction of the time).
    convolveAxis(a, b, dims, axis, sigma >= BOX_FROM_SIGMA ? boxWidths(sigma) : kernel(sigma));
    [a, b] = [b, a];
  }
  return a;
}

function convolveAxis(src: Float32Array, dst: Float32Array, [nx, ny, nz]: Dims, axis: number, k: Float32Array | number[]): void {
  const len = axis === 0 ? nx : axis === 1 ? ny : nz;
  const stride = axis === 0 ? 1 : axis === 1 ? nx : nx * ny;
  const line = new Float32Array(len);
  const tmp = new Float32Array(len);
  const [na, nb, sa, sb] = axis === 0 ? [ny, nz, nx, nx * ny] : axis === 1 ? [nx, nz, 1, nx * ny] : [nx, ny, 1, nx];
  for (let b = 0; b < nb; b++)
    for (let a = 0; a < na; a++) {
      const base = a * sa + b * sb;
      for (let i = 0; i < len; i++) line[i] = src[base + i * stride];
      if (Array.isArray(k)) {
        // Widths of successive box filters (running sums): cost independent of σ.
        for (const w of k) {
          boxLine(line, tmp, w);
          line.set(tmp);
        }
        for (let i = 0; i < len; i++) dst[base + i * stride] = line[i];
        continue;
      }
      const r = (k.length - 1) / 2;
      for (let i = 0; i < len; i++) {
        let s = 0;
        const lo = Math.max(0, i - r);
        const hi = Math.min(len - 1, i + r);
        for (let j = lo; j <= hi; j++) s += line[j] * k[j - i + r];
        dst[base + i * stride] = s;
      }
    }
}

/** Mean over a centred window of odd width `w`, zero beyond the line's ends. */
function boxLine(src: Float32Array, dst: Float32Array, w: number): void {
  const r = (w - 1) / 2;
  const n = src.length;
  let s = 0;
  for (let i = 0; i < Math.min(r, n); i++) s += src[i];
  for (let i = 0; i < n; i++) {
    if (i + r < n) s += src[i + r];
    if (i - r - 1 >= 0) s -= src[i - r - 1];
    dst[i] = s / w;
  }
}

/**
 * Widths of three successive box filters whose combination has the variance of a Gaussian of σ (in voxels), after
 * Kovesi, "Fast almost-Gaussian filtering" (2010): boxes of widths wl and wl + 2.
 */
function boxWidths(sigma: number, passes = 3): number[] {
  let wl = Math.floor(Math.sqrt((12 * sigma * sigma) / passes + 1));
  if (wl % 2 === 0) wl--;
  const wu = wl + 2;
  const m = Math.round((12 * sigma * sigma - passes * wl * wl - 4 * passes * wl - 3 * passes) / (-4 * wl - 4));
  return Array.from({ length: passes }, (_, i) => (i < m ? wl : wu));
}

/** Distance in mm from every voxel to the nearest voxel where `mask` is 0 (0 there); voxels off the grid count as 0. */
export function distanceToOutside(mask: Uint8Array, dims: Dims, spacing: readonly number[]): Float32Array {
  const [nx, ny, nz] = dims;
  const big = 1e20;
  // Squared distances; the grid is padded by one outside voxel along every axis, so the faces are at distance ≥ 1.
  const f = new Float64Array(mask.length);
  for (let i = 0; i < mask.length; i++) f[i] = mask[i] ? big : 0;
  const lens = [nx, ny, nz];
  const strides = [1, nx, nx * ny];
  for (let axis = 0; axis < 3; axis++) {
    const len = lens[axis];
    const stride = strides[axis];
    const w2 = (spacing[axis] || 1) ** 2;
    const line = new Float64Array(len + 2);
    const out = new Float64Array(len + 2);
    const v = new Int32Array(len + 2);
    const z = new Float64Array(len + 3);
    const others = [0, 1, 2].filter((a) => a !== axis);
    const [oa, ob] = others;
    for (let b = 0; b < lens[ob]; b++)
      for (let a = 0; a < lens[oa]; a++) {
        const base = a * strides[oa] + b * strides[ob];
        line[0] = 0;
        line[len + 1] = 0;
        for (let i = 0; i < len; i++) line[i + 1] = f[base + i * stride];
        envelope(line, out, v, z, w2);
        for (let i = 0; i < len; i++) f[base + i * stride] = out[i + 1];
      }
  }
  const d = new Float32Array(mask.length);
  for (let i = 0; i < d.length; i++) d[i] = Math.sqrt(f[i]);
  return d;
}

/** 1-D squared distance transform of sampled function `f` with sample spacing² `w2` (Felzenszwalb & Huttenlocher 2012). */
function envelope(f: Float64Array, out: Float64Array, v: Int32Array, z: Float64Array, w2: number): void {
  const n = f.length;
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    // z[0] is −∞, so the search stops at the first parabola at the latest.
    let p = v[k];
    let s = (f[q] + w2 * q * q - (f[p] + w2 * p * p)) / (2 * w2 * (q - p));
    while (s <= z[k]) {
      k--;
      p = v[k];
      s = (f[q] + w2 * q * q - (f[p] + w2 * p * p)) / (2 * w2 * (q - p));
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const p = v[k];
    out[q] = w2 * (q - p) * (q - p) + f[p];
  }
}
