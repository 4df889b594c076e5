import type { Dims3 } from './nlm.js';

/**
 * Noise σ from the image itself: the median absolute value of Coupé et al. (2008)'s pseudo-residuals
 * ε = √(6/7)·(u(x) − mean of its six face neighbours), over the voxels of `mask`, divided by 0.6745 (the MAD of
 * a unit Gaussian). The residuals remove the smooth anatomy; the median ignores edges and texture. Inside the
 * head, Rician noise at the SNRs of T1 scans is close to Gaussian, so this is σ of the underlying Gaussian.
 * Used the same way on the target and the examples' inputs, so a bias of the estimator cancels in the strength
 * chosen from the examples (restoration/select.ts).
 */
export function estimateNoiseSigma(data: ArrayLike<number>, dims: Dims3, mask?: Uint8Array, maxSamples = 400_000): number {
  const [nx, ny, nz] = dims;
  const nxy = nx * ny;
  const inner = (nx - 2) * (ny - 2) * (nz - 2);
  if (inner <= 0) return 0;
  // A regular subsample keeps it cheap on 256³ heads; the median needs far fewer.
  const step = Math.max(1, Math.floor(inner / maxSamples));
  const res: number[] = [];
  const c = Math.sqrt(6 / 7);
  let count = 0;
  for (let z = 1; z < nz - 1; z++)
    for (let y = 1; y < ny - 1; y++)
      for (let x = 1; x < nx - 1; x++) {
        if (count++ % step !== 0) continue;
        const i = x + nx * y + nxy * z;
        if (mask && mask[i] === 0) continue;
        const nb = (data[i - 1] + data[i + 1] + data[i - nx] + data[i + nx] + data[i - nxy] + data[i + nxy]) / 6;
        res.push(Math.abs(c * (data[i] - nb)));
      }
  if (res.length === 0) return 0;
  res.sort((a, b) => a - b);
  return res[Math.floor(res.length / 2)] / 0.6745;
}

export interface NoiseEstimate {
  sigma: number;
  /** "background": the Rayleigh median of the air around the head; "residuals": the pseudo-residuals' MAD. */
  how: 'background' | 'residuals';
}

/**
 * σ of magnitude MR noise: from the background when the image has one (air around the head is pure Rician
 * noise of zero signal, a Rayleigh distribution whose median is σ√(2 ln 2)), else from the pseudo-residuals
 * inside the head. The background estimate is exact for magnitude data, the residuals overestimate σ where
 * the anatomy has fine texture; a zero-filled or skull-stripped background has no noise to measure.
 */
export function estimateNoise(data: ArrayLike<number>, dims: Dims3, head: Uint8Array): NoiseEstimate {
  const residual = estimateNoiseSigma(data, dims, head);
  const step = Math.max(1, Math.floor(data.length / 2_000_000));
  const far = farFromMask(head, dims, 4);
  const bg: number[] = [];
  let zeros = 0;
  for (let i = 0; i < data.length; i += step) {
    if (far[i] === 0) continue;
    if (data[i] === 0) zeros++;
    bg.push(data[i]);
  }
  if (bg.length > 0.05 * (data.length / step) && zeros < 0.5 * bg.length) {
    bg.sort((a, b) => a - b);
    const sigma = bg[bg.length >> 1] / Math.sqrt(2 * Math.LN2);
    // A background brighter than the head's own noise is not air (ghosting, a padded field of view).
    if (sigma > 0 && sigma < 2 * residual) return { sigma, how: 'background' };
  }
  return { sigma: residual, how: 'residuals' };
}

/** 1 where no mask voxel lies within `margin` voxels along any axis-aligned box (the mask grown by a cube). */
function farFromMask(mask: Uint8Array, dims: Dims3, margin: number): Uint8Array {
  const [nx, ny, nz] = dims;
  const grown = Float32Array.from(mask);
  const tmp = new Float32Array(mask.length);
  // Three 1-D max passes: a cube dilation.
  const pass = (src: Float32Array, dst: Float32Array, stride: number, len: number, coord: (i: number) => number) => {
    for (let i = 0; i < src.length; i++) {
      const c = coord(i);
      let m = 0;
      for (let d = -margin; d <= margin; d++) {
        const t = c + d;
        if (t < 0 || t >= len) continue;
        if (src[i + d * stride] > m) {
          m = 1;
          break;
        }
      }
      dst[i] = m;
    }
  };
  pass(grown, tmp, 1, nx, (i) => i % nx);
  pass(tmp, grown, nx, ny, (i) => Math.floor(i / nx) % ny);
  pass(grown, tmp, nx * ny, nz, (i) => Math.floor(i / (nx * ny)));
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < out.length; i++) out[i] = tmp[i] > 0 ? 0 : 1;
  return out;
}
