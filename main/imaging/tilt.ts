import type { Affine, Volume } from './volume.js';
import { qformToAffine, affineToQform } from './nifti/quaternion.js';

const norm = (v: number[]) => Math.hypot(v[0], v[1], v[2]);
const col = (m: Affine, j: number) => [m[0][j], m[1][j], m[2][j]];

/**
 * The slice tilt of a stack: the angle between the slice step (third affine column) and the normal of the slice
 * plane. A gantry-tilted CT has its slices stepped obliquely: the affine then holds a shear, which NIfTI's sform
 * keeps exactly but its qform (a rotation and voxel sizes) cannot.
 */
export function sliceTiltDegrees(affine: Affine): number {
  const [c0, c1, c2] = [col(affine, 0), col(affine, 1), col(affine, 2)];
  const n = [c0[1] * c1[2] - c0[2] * c1[1], c0[2] * c1[0] - c0[0] * c1[2], c0[0] * c1[1] - c0[1] * c1[0]];
  const cos = Math.abs(n[0] * c2[0] + n[1] * c2[1] + n[2] * c2[2]) / (norm(n) * norm(c2) || 1);
  return (Math.acos(Math.min(1, cos)) * 180) / Math.PI;
}

/**
 * How far (mm) the qform a NIfTI writer derives from this affine (its nearest rotation, nifti1_io's method) puts
 * the corners of the grid from where the affine puts them: 0 for a rigid affine, tens of mm for a tilted CT.
 */
export function qformDeviationMm(affine: Affine, dims: readonly number[]): number {
  const q = qformToAffine(affineToQform(affine));
  let worst = 0;
  for (const i of [0, dims[0] - 1])
    for (const j of [0, (dims[1] ?? 1) - 1])
      for (const k of [0, (dims[2] ?? 1) - 1]) {
        let d2 = 0;
        for (let r = 0; r < 3; r++) {
          const a = affine[r][0] * i + affine[r][1] * j + affine[r][2] * k + affine[r][3];
          const b = q[r][0] * i + q[r][1] * j + q[r][2] * k + q[r][3];
          d2 += (a - b) ** 2;
        }
        worst = Math.max(worst, Math.sqrt(d2));
      }
  return worst;
}

/**
 * A tilted stack resampled onto the orthogonal grid of its slice planes (as dcm2niix's gantry-tilt correction
 * does): same slices, same in-plane pixels, each slice shifted in its own plane by the shear it had, bilinear,
 * with the scan's minimum outside. The affine becomes shear-free, so the qform holds it exactly.
 * Requires orthogonal in-plane axes (DICOM image planes are).
 */
export function correctSliceTilt(v: Volume): Volume {
  const a = v.affine;
  const [c0, c1, c2] = [col(a, 0), col(a, 1), col(a, 2)];
  const n0 = [c0[1] * c1[2] - c0[2] * c1[1], c0[2] * c1[0] - c0[0] * c1[2], c0[0] * c1[1] - c0[1] * c1[0]];
  const nn = norm(n0);
  const n = n0.map((x) => x / nn);
  const dotv = (x: number[], y: number[]) => x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
  // c2 = alpha·c0 + beta·c1 + gamma·n: the in-plane part (alpha, beta, in voxels) is the shear per slice.
  const alpha = dotv(c2, c0) / dotv(c0, c0);
  const beta = dotv(c2, c1) / dotv(c1, c1);
  const gamma = dotv(c2, n);
  const [nx, ny, nz] = [v.dims[0], v.dims[1] ?? 1, v.dims[2] ?? 1];
  let min = Infinity;
  for (let i = 0; i < v.data.length; i++) if (v.data[i] < min) min = v.data[i];
  const out = new Float32Array(nx * ny * nz);
  const src = v.data;
  for (let k = 0; k < nz; k++) {
    // Voxel (i, j, k) of the new grid is voxel (i − k·alpha, j − k·beta, k) of the old one.
    const si = -k * alpha;
    const sj = -k * beta;
    const base = k * nx * ny;
    for (let j = 0; j < ny; j++) {
      const y = j + sj;
      const y0 = Math.floor(y);
      const fy = y - y0;
      for (let i = 0; i < nx; i++) {
        const x = i + si;
        const x0 = Math.floor(x);
        const fx = x - x0;
        const at = (xx: number, yy: number) => (xx >= 0 && xx < nx && yy >= 0 && yy < ny ? src[base + yy * nx + xx] : min);
        out[base + j * nx + i] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      }
    }
  }
  const affine = a.map((row, r) => (r < 3 ? [row[0], row[1], gamma * n[r], row[3]] : row.slice()));
  return {
    ...v,
    data: out,
    affine,
    spacing: [v.spacing[0], v.spacing[1], Math.abs(gamma), ...v.spacing.slice(3)],
    source: {
      ...v.source,
      note: [v.source.note, `slice tilt of ${sliceTiltDegrees(a).toFixed(2)}° corrected by resampling each slice in its plane`].filter(Boolean).join('; '),
    },
  };
}
