import type { Affine } from '../volume.js';

/**
 * The NIfTI qform fields for an affine: the quaternion of its rotation, the qfac sign and the voxel
 * sizes. Written by hand because nifti-reader-js only converts quaternion → matrix. The method is
 * nifti1_io's nifti_mat44_to_quatern: normalise the columns, make the matrix proper (flip the third
 * column when det < 0, recorded as qfac = -1), then take the quaternion of the nearest rotation.
 * A shear in the affine cannot be represented by a qform; the sform keeps it exactly.
 */
export interface Qform {
  b: number;
  c: number;
  d: number;
  qfac: 1 | -1;
  offset: [number, number, number];
  pixdim: [number, number, number];
}

export function affineToQform(m: Affine): Qform {
  let r11 = m[0][0],
    r12 = m[0][1],
    r13 = m[0][2];
  let r21 = m[1][0],
    r22 = m[1][1],
    r23 = m[1][2];
  let r31 = m[2][0],
    r32 = m[2][1],
    r33 = m[2][2];
  let xd = Math.hypot(r11, r21, r31);
  let yd = Math.hypot(r12, r22, r32);
  let zd = Math.hypot(r13, r23, r33);
  if (xd === 0) {
    r11 = 1;
    r21 = 0;
    r31 = 0;
    xd = 1;
  }
  if (yd === 0) {
    r22 = 1;
    r12 = 0;
    r32 = 0;
    yd = 1;
  }
  if (zd === 0) {
    r33 = 1;
    r13 = 0;
    r23 = 0;
    zd = 1;
  }
  const pixdim: [number, number, number] = [xd, yd, zd];
  r11 /= xd;
  r21 /= xd;
  r31 /= xd;
  r12 /= yd;
  r22 /= yd;
  r32 /= yd;
  r13 /= zd;
  r23 /= zd;
  r33 /= zd;

  // Orthogonalise by polar decomposition (a few Newton iterations of R ← (R + R⁻ᵀ)/2), as nifti1_io does,
  // so a slightly non-orthogonal DICOM direction matrix still gives the closest rotation.
  let R = [
    [r11, r12, r13],
    [r21, r22, r23],
    [r31, r32, r33],
  ];
  for (let it = 0; it < 20; it++) {
    const inv = invert3(R);
    if (!inv) break;
    const next = R.map((row, i) => row.map((v, j) => 0.5 * (v + inv[j][i])));
    const delta = Math.max(...next.flatMap((row, i) => row.map((v, j) => Math.abs(v - R[i][j]))));
    R = next;
    if (delta < 1e-12) break;
  }
  [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = R;

  let qfac: 1 | -1 = 1;
  const det = r11 * r22 * r33 - r11 * r32 * r23 - r21 * r12 * r33 + r21 * r32 * r13 + r31 * r12 * r23 - r31 * r22 * r13;
  if (det < 0) {
    qfac = -1;
    r13 = -r13;
    r23 = -r23;
    r33 = -r33;
  }

  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd2 = 1 + r11 - (r22 + r33);
    const yd2 = 1 + r22 - (r11 + r33);
    const zd2 = 1 + r33 - (r11 + r22);
    if (xd2 > 1) {
      b = 0.5 * Math.sqrt(xd2);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd2 > 1) {
      c = 0.5 * Math.sqrt(yd2);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd2);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac, offset: [m[0][3], m[1][3], m[2][3]], pixdim };
}

/** Matrix of a qform, the inverse of affineToQform (used by tests and the reader). */
export function qformToAffine(q: Qform): Affine {
  const { b, c, d, qfac, offset, pixdim } = q;
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const R = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const s = [pixdim[0], pixdim[1], pixdim[2] * qfac];
  return [
    [R[0][0] * s[0], R[0][1] * s[1], R[0][2] * s[2], offset[0]],
    [R[1][0] * s[0], R[1][1] * s[1], R[1][2] * s[2], offset[1]],
    [R[2][0] * s[0], R[2][1] * s[1], R[2][2] * s[2], offset[2]],
    [0, 0, 0, 1],
  ];
}

function invert3(m: number[][]): number[][] | null {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h,
    B = -(d * i - f * g),
    C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-300) return null;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}
