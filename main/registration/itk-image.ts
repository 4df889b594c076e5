/**
 * Our volumes (RAS+ affine, x fastest) as itk-wasm images (LPS physical space, origin/spacing/direction),
 * and the block averaging that makes the coarse copies elastix registers.
 */

export interface ItkGeometry {
  origin: number[];
  spacing: number[];
  /** Row-major 3×3, as itk-wasm's setMatrixElement lays it out. */
  direction: number[];
  size: number[];
}

export interface ItkImageLike extends Omit<ItkGeometry, 'direction'> {
  /** itk-wasm reads the direction's buffer: it must be a Float64Array. */
  direction: Float64Array;
  imageType: { dimension: 3; componentType: 'float32'; pixelType: 'Scalar'; components: 1 };
  name: string;
  metadata: Map<string, unknown>;
  data: Float32Array | null;
}

const LPS = [-1, -1, 1];

/**
 * Geometry of a grid with voxel-to-RAS affine `a`, sampled every `factor` voxels per axis (1 = as stored):
 * a coarse voxel is the mean of a factor-sized block, so its centre sits (factor−1)/2 voxels in.
 * `lo` shifts the first voxel (a sub-box of the grid), `size` overrides the voxel count.
 */
export function itkGeometry(
  a: number[][],
  dims: readonly number[],
  factor: readonly number[] = [1, 1, 1],
  lo: readonly number[] = [0, 0, 0],
  size?: readonly number[],
): ItkGeometry {
  const spacing: number[] = [];
  const direction = new Array<number>(9).fill(0);
  for (let c = 0; c < 3; c++) {
    const col = [a[0][c], a[1][c], a[2][c]];
    const n = Math.hypot(col[0], col[1], col[2]);
    if (!(n > 0)) throw new Error('affine has a zero-length axis');
    spacing.push(n * factor[c]);
    for (let r = 0; r < 3; r++) direction[r * 3 + c] = (LPS[r] * col[r]) / n;
  }
  const first = [0, 1, 2].map((c) => lo[c] + (factor[c] - 1) / 2);
  const origin = [0, 1, 2].map((r) => LPS[r] * (a[r][3] + a[r][0] * first[0] + a[r][1] * first[1] + a[r][2] * first[2]));
  return { origin, spacing, direction, size: size ? [...size] : dims.slice(0, 3).map((d, c) => Math.max(1, Math.floor(d / factor[c]))) };
}

export function itkImage(geometry: ItkGeometry, data: Float32Array | null, name = 'image'): ItkImageLike {
  return {
    imageType: { dimension: 3, componentType: 'float32', pixelType: 'Scalar', components: 1 },
    name,
    metadata: new Map(),
    origin: geometry.origin,
    spacing: geometry.spacing,
    size: geometry.size,
    direction: Float64Array.from(geometry.direction),
    data,
  };
}

/** Per-axis integer factors that bring voxels to about `targetMm` (never below the voxel itself). */
export function coarseFactors(spacing: readonly number[], targetMm: number): number[] {
  return [0, 1, 2].map((c) => Math.max(1, Math.round(targetMm / (Math.abs(spacing[c]) || 1))));
}

/** Mean over factor-sized blocks (partial blocks at the far edges dropped). */
export function blockMean(data: Float32Array, dims: readonly number[], f: readonly number[]): Float32Array {
  const [nx, ny, nz] = dims;
  const [mx, my, mz] = [0, 1, 2].map((c) => Math.max(1, Math.floor(dims[c] / f[c])));
  if (f.every((x) => x === 1)) return data;
  const out = new Float32Array(mx * my * mz);
  const w = 1 / (f[0] * f[1] * f[2]);
  for (let k = 0; k < mz; k++) {
    for (let c = 0; c < f[2]; c++) {
      const z = k * f[2] + c;
      if (z >= nz) continue;
      for (let j = 0; j < my; j++) {
        for (let b = 0; b < f[1]; b++) {
          const y = j * f[1] + b;
          if (y >= ny) continue;
          const row = nx * (y + ny * z);
          const o = mx * (j + my * k);
          for (let i = 0; i < mx; i++) {
            let s = 0;
            const x0 = row + i * f[0];
            for (let a = 0; a < f[0]; a++) s += data[x0 + a];
            out[o + i] += s * w;
          }
        }
      }
    }
  }
  return out;
}
