import { boxSum, type Dims3 } from './nlm.js';

/**
 * The head of an MR image, found from the image alone: a 3³ mean (to quiet the noise), a threshold at a tenth
 * of the 99th percentile, or above the background's noise when the image is noisy (mean + 6 σ of the smoothed
 * background), the largest connected component, its holes filled (everything not reachable from the grid's
 * border), then `dilate` voxels added around it. Used to restrict restoration and to score it.
 */
export function headMask(data: ArrayLike<number>, dims: Dims3, opts: { sigma?: number; dilate?: number } = {}): Uint8Array {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  const smooth = Float32Array.from(data);
  boxSum(smooth, new Float32Array(n), dims, 1);
  for (let i = 0; i < n; i++) smooth[i] /= 27;
  const p99 = percentile(data, 0.99);
  let threshold = 0.1 * p99;
  if (opts.sigma && opts.sigma > 0) {
    // Rician background: mean σ√(π/2); its 3³ mean has a spread of about 0.66σ/√27.
    threshold = Math.max(threshold, opts.sigma * Math.sqrt(Math.PI / 2) + (6 * 0.66 * opts.sigma) / Math.sqrt(27));
  }
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = smooth[i] > threshold ? 1 : 0;
  keepLargestComponent(mask, dims);
  fillHoles(mask, dims);
  for (let k = 0; k < (opts.dilate ?? 0); k++) dilate6(mask, dims);
  return mask;
}

export function percentile(data: ArrayLike<number>, q: number, maxSamples = 500_000): number {
  const step = Math.max(1, Math.floor(data.length / maxSamples));
  const s: number[] = [];
  for (let i = 0; i < data.length; i += step) s.push(data[i]);
  s.sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

function neighbours(i: number, dims: Dims3, visit: (j: number) => void): void {
  const [nx, ny, nz] = dims;
  const x = i % nx;
  const y = Math.floor(i / nx) % ny;
  const z = Math.floor(i / (nx * ny));
  if (x > 0) visit(i - 1);
  if (x < nx - 1) visit(i + 1);
  if (y > 0) visit(i - nx);
  if (y < ny - 1) visit(i + nx);
  if (z > 0) visit(i - nx * ny);
  if (z < nz - 1) visit(i + nx * ny);
}

/** Keeps the largest 6-connected component of a 0/1 mask (in place). */
export function keepLargestComponent(mask: Uint8Array, dims: Dims3): void {
  const n = mask.length;
  const comp = new Int32Array(n);
  const stack = new Int32Array(n);
  let best = 0;
  let bestSize = 0;
  let id = 0;
  for (let s = 0; s < n; s++) {
    if (mask[s] === 0 || comp[s] !== 0) continue;
    id++;
    let top = 0;
    let size = 0;
    stack[top++] = s;
    comp[s] = id;
    while (top > 0) {
      const i = stack[--top];
      size++;
      neighbours(i, dims, (j) => {
        if (mask[j] !== 0 && comp[j] === 0) {
          comp[j] = id;
          stack[top++] = j;
        }
      });
    }
    if (size > bestSize) {
      bestSize = size;
      best = id;
    }
  }
  for (let i = 0; i < n; i++) mask[i] = comp[i] === best && best !== 0 ? 1 : 0;
}

/** Sets every 0 voxel not 6-connected to the grid's border (in place). */
export function fillHoles(mask: Uint8Array, dims: Dims3): void {
  const [nx, ny, nz] = dims;
  const n = mask.length;
  const outside = new Uint8Array(n);
  const stack = new Int32Array(n);
  let top = 0;
  for (let i = 0; i < n; i++) {
    const x = i % nx;
    const y = Math.floor(i / nx) % ny;
    const z = Math.floor(i / (nx * ny));
    const border = x === 0 || y === 0 || z === 0 || x === nx - 1 || y === ny - 1 || z === nz - 1;
    if (border && mask[i] === 0) {
      outside[i] = 1;
      stack[top++] = i;
    }
  }
  while (top > 0) {
    const i = stack[--top];
    neighbours(i, dims, (j) => {
      if (mask[j] === 0 && outside[j] === 0) {
        outside[j] = 1;
        stack[top++] = j;
      }
    });
  }
  for (let i = 0; i < n; i++) if (outside[i] === 0) mask[i] = 1;
}

function dilate6(mask: Uint8Array, dims: Dims3): void {
  const src = mask.slice();
  for (let i = 0; i < mask.length; i++) if (src[i] !== 0) neighbours(i, dims, (j) => (mask[j] = 1));
}

/** The bounding box [x0, y0, z0, x1, y1, z1) of a mask's non-zero voxels, grown by `margin` (clipped to the grid). */
export function maskBox(mask: Uint8Array, dims: Dims3, margin = 0): [number, number, number, number, number, number] | null {
  const [nx, ny, nz] = dims;
  let x0 = nx,
    y0 = ny,
    z0 = nz,
    x1 = -1,
    y1 = -1,
    z1 = -1;
  for (let z = 0, i = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++, i++) {
        if (mask[i] === 0) continue;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        if (z < z0) z0 = z;
        if (z > z1) z1 = z;
      }
  if (x1 < 0) return null;
  return [
    Math.max(0, x0 - margin),
    Math.max(0, y0 - margin),
    Math.max(0, z0 - margin),
    Math.min(nx, x1 + 1 + margin),
    Math.min(ny, y1 + 1 + margin),
    Math.min(nz, z1 + 1 + margin),
  ];
}

/** A box of a volume as its own contiguous array. */
export function cropBox<T extends Float32Array | Uint8Array>(data: T, dims: Dims3, box: readonly number[]): T {
  const [nx, ny] = dims;
  const [x0, y0, z0, x1, y1, z1] = box;
  const w = x1 - x0;
  const out = new (data.constructor as new (n: number) => T)(w * (y1 - y0) * (z1 - z0));
  let o = 0;
  for (let z = z0; z < z1; z++)
    for (let y = y0; y < y1; y++) {
      const s = x0 + nx * (y + ny * z);
      out.set(data.subarray(s, s + w), o);
      o += w;
    }
  return out;
}

/** Writes a box's array back into the full volume. */
export function pasteBox(into: Float32Array, dims: Dims3, box: readonly number[], part: Float32Array): void {
  const [nx, ny] = dims;
  const [x0, y0, z0, x1, y1, z1] = box;
  const w = x1 - x0;
  let o = 0;
  for (let z = z0; z < z1; z++)
    for (let y = y0; y < y1; y++) {
      into.set(part.subarray(o, o + w), x0 + nx * (y + ny * z));
      o += w;
    }
}
