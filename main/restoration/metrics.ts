// nlm.ts's box sum keeps its running sums in doubles (JavaScript numbers): squares of 16-bit intensities keep their digits.
import { boxSum, type Dims3 } from './nlm.js';

/** Mean squared error between two images over the voxels of `mask` (all when absent). */
export function maskedMse(a: ArrayLike<number>, b: ArrayLike<number>, mask?: Uint8Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (mask && mask[i] === 0) continue;
    const d = a[i] - b[i];
    s += d * d;
    n++;
  }
  return n === 0 ? 0 : s / n;
}

/** PSNR in dB of `test` against `reference` inside `mask`, the peak being the reference's maximum there. */
export function maskedPsnr(test: ArrayLike<number>, reference: ArrayLike<number>, mask?: Uint8Array, peak = maskedMax(reference, mask)): number {
  const mse = maskedMse(test, reference, mask);
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

export function maskedMax(a: ArrayLike<number>, mask?: Uint8Array): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if ((!mask || mask[i] !== 0) && a[i] > m) m = a[i];
  return m;
}

/**
 * Mean SSIM (Wang et al. 2004) over the voxels of `mask`, local statistics in a 7³ box (clipped at the edges),
 * constants K1 = 0.01, K2 = 0.03 of the data range (the reference's maximum inside the mask).
 */
export function maskedSsim(test: ArrayLike<number>, reference: ArrayLike<number>, dims: Dims3, mask?: Uint8Array, range = maskedMax(reference, mask)): number {
  const n = dims[0] * dims[1] * dims[2];
  const a = Float32Array.from(test);
  const b = Float32Array.from(reference);
  const aa = new Float32Array(n);
  const bb = new Float32Array(n);
  const ab = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    aa[i] = a[i] * a[i];
    bb[i] = b[i] * b[i];
    ab[i] = a[i] * b[i];
  }
  const r = 3;
  const count = new Float32Array(n).fill(1);
  const tmp = new Float32Array(n);
  for (const img of [a, b, aa, bb, ab, count]) boxSum(img, tmp, dims, r);
  const c1 = (0.01 * range) ** 2;
  const c2 = (0.03 * range) ** 2;
  let s = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (mask && mask[i] === 0) continue;
    const k = count[i];
    const mu1 = a[i] / k;
    const mu2 = b[i] / k;
    const v1 = aa[i] / k - mu1 * mu1;
    const v2 = bb[i] / k - mu2 * mu2;
    const cov = ab[i] / k - mu1 * mu2;
    s += ((2 * mu1 * mu2 + c1) * (2 * cov + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (v1 + v2 + c2));
    m++;
  }
  return m === 0 ? 1 : s / m;
}
