import type { Affine, Volume } from '../../main/imaging/volume.js';

/**
 * A small synthetic "head": an ellipsoid with three blobs of different brightness at asymmetric places (so no
 * rotation or flip maps it onto itself), and a label map of the blobs with values 7, 300 and 1000.
 */
export function syntheticHead(n = 64, spacingMm = 2): { image: Volume; label: Volume } {
  const image = new Int16Array(n * n * n);
  const label = new Int16Array(n * n * n);
  const c = (n - 1) / 2;
  const blobs = [
    { at: [c - 10, c + 6, c - 4], r: 6, value: 900, label: 7 },
    { at: [c + 9, c - 5, c + 2], r: 4.5, value: 300, label: 300 },
    { at: [c + 2, c + 10, c + 9], r: 3.5, value: 1400, label: 1000 },
  ];
  for (let z = 0; z < n; z++) {
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const i = x + n * (y + n * z);
        const e = ((x - c) / (0.42 * n)) ** 2 + ((y - c) / (0.36 * n)) ** 2 + ((z - c) / (0.3 * n)) ** 2;
        if (e > 1) continue;
        let v = 500 + 100 * Math.sin(x / 3) * Math.cos(y / 4);
        for (const b of blobs) {
          const d = Math.hypot(x - b.at[0], y - b.at[1], z - b.at[2]);
          if (d <= b.r) {
            v = b.value;
            label[i] = b.label;
          }
        }
        image[i] = Math.round(v);
      }
    }
  }
  const affine: Affine = [
    [spacingMm, 0, 0, -c * spacingMm],
    [0, spacingMm, 0, -c * spacingMm],
    [0, 0, spacingMm, -c * spacingMm],
    [0, 0, 0, 1],
  ];
  const vol = (data: Int16Array, description: string): Volume => ({
    dims: [n, n, n],
    spacing: [spacingMm, spacingMm, spacingMm],
    affine: affine.map((r) => [...r]),
    data,
    slope: 1,
    intercept: 0,
    description,
    source: { kind: 'memory' },
  });
  return { image: vol(image, 'synthetic head'), label: vol(label, 'synthetic labels') };
}

/** The same voxels placed elsewhere in the world: world' = M · world (M a 4×4 row-major matrix). */
export function moved(v: Volume, m: Affine): Volume {
  const a = v.affine;
  const affine = m.map((row) => [0, 1, 2, 3].map((j) => row.reduce((s, x, k) => s + x * a[k][j], 0)));
  return { ...v, affine };
}

/** Rotation by `deg` about z and a translation, in mm. */
export function rigid(deg: number, t: [number, number, number]): Affine {
  const r = (deg * Math.PI) / 180;
  return [
    [Math.cos(r), -Math.sin(r), 0, t[0]],
    [Math.sin(r), Math.cos(r), 0, t[1]],
    [0, 0, 1, t[2]],
    [0, 0, 0, 1],
  ];
}

/**
 * The same voxels stored with their axes in a cyclic order (new i = old z, j = old x, k = old y) and the
 * affine to match, so every voxel keeps its place in the world. The direction matrix is then not symmetric,
 * which catches a row/column mix-up in the hand-over to ITK.
 */
export function transposed(v: Volume): Volume {
  const [nx, ny, nz] = v.dims;
  const Ctor = v.data.constructor as new (n: number) => typeof v.data;
  const out = new Ctor(v.data.length);
  for (let k = 0; k < ny; k++) for (let j = 0; j < nx; j++) for (let i = 0; i < nz; i++) out[i + nz * (j + nx * k)] = v.data[j + nx * (k + ny * i)];
  const a = v.affine;
  // world = col_x·j + col_y·k + col_z·i + t
  const affine = [0, 1, 2].map((r) => [a[r][2], a[r][0], a[r][1], a[r][3]]);
  affine.push([0, 0, 0, 1]);
  return { ...v, dims: [nz, nx, ny], spacing: [v.spacing[2], v.spacing[0], v.spacing[1]], affine, data: out };
}

export function dice(a: ArrayLike<number>, b: ArrayLike<number>, value?: number): number {
  let x = 0;
  let y = 0;
  let xy = 0;
  for (let i = 0; i < a.length; i++) {
    const p = value === undefined ? a[i] !== 0 : a[i] === value;
    const q = value === undefined ? b[i] !== 0 : b[i] === value;
    if (p) x++;
    if (q) y++;
    if (p && q) xy++;
  }
  return x + y === 0 ? 1 : (2 * xy) / (x + y);
}
