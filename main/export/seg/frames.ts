import type { NaturalDataset } from 'dcmjs';
import { InputError } from '../../common/errors.js';
import type { Volume } from '../../imaging/volume.js';

/** A naturalized sequence holds one item as an object or as an array of one, depending on who built it. */
export function item(seq: unknown): NaturalDataset | undefined {
  if (Array.isArray(seq)) return seq[0] as NaturalDataset | undefined;
  return (seq ?? undefined) as NaturalDataset | undefined;
}

/** Where one source frame's pixels fall in the mask: voxel index = origin + column·du + row·dv. */
export interface FrameMapping {
  /** 1-based frame number in the normalized source multiframe. */
  frame: number;
  origin: [number, number, number];
  du: [number, number, number];
  dv: [number, number, number];
}

const TOL = 0.02; // voxels: float32 storage of the NIfTI affine and DS rounding stay far below this

/**
 * Maps every frame of the (normalized) reference to the mask grid through world coordinates, never by
 * order: dcmjs sorts classic slices by position, dcm2niix may flip axes of enhanced series, and an oblique
 * series has no axis-aligned shortcut. The mask must sample exactly the reference's pixels (same grid).
 */
export function mapFramesToMask(reference: NaturalDataset, mask: Volume, maskLabel: string): FrameMapping[] {
  const rows = Number(reference.Rows);
  const cols = Number(reference.Columns);
  const perFrame: NaturalDataset[] = reference.PerFrameFunctionalGroupsSequence ?? [];
  const shared = item(reference.SharedFunctionalGroupsSequence) ?? {};
  const [nx, ny, nz] = [mask.dims[0], mask.dims[1] ?? 1, mask.dims[2] ?? 1];
  if ((mask.dims[3] ?? 1) > 1) throw new InputError(maskLabel, `is 4D (${mask.dims.join('×')}); a segmentation mask must be 3D`);
  const frames = perFrame.length;
  if (rows * cols * frames !== nx * ny * nz) {
    throw new InputError(
      maskLabel,
      `grid does not match the reference series: mask is ${nx}×${ny}×${nz}, the series is ${cols}×${rows} pixels × ${frames} frames`,
      'grid-mismatch',
    );
  }
  const inv = invert4(mask.affine);
  const toVoxel = (lps: number[]) => {
    const ras = [-lps[0], -lps[1], lps[2]];
    return [0, 1, 2].map((r) => inv[r][0] * ras[0] + inv[r][1] * ras[1] + inv[r][2] * ras[2] + inv[r][3]) as [number, number, number];
  };
  const seenSlices = new Set<string>();
  return perFrame.map((fg, n) => {
    const pos = item(fg.PlanePositionSequence)?.ImagePositionPatient;
    const iop = item(fg.PlaneOrientationSequence)?.ImageOrientationPatient ?? item(shared.PlaneOrientationSequence)?.ImageOrientationPatient;
    const ps = item(fg.PixelMeasuresSequence)?.PixelSpacing ?? item(shared.PixelMeasuresSequence)?.PixelSpacing;
    if (!pos || !iop || !ps) throw new InputError(maskLabel, `reference frame ${n + 1} has no position, orientation or pixel spacing`);
    const p = (pos as unknown[]).map(Number);
    const o = (iop as unknown[]).map(Number);
    const [dRow, dCol] = (ps as unknown[]).map(Number);
    const v0 = toVoxel(p);
    const vu = toVoxel([0, 1, 2].map((a) => p[a] + o[a] * dCol));
    const vv = toVoxel([0, 1, 2].map((a) => p[a] + o[3 + a] * dRow));
    const du = vu.map((x, a) => x - v0[a]) as [number, number, number];
    const dv = vv.map((x, a) => x - v0[a]) as [number, number, number];
    const origin = v0.map(Math.round) as [number, number, number];
    const step = (d: number[]) => d.map(Math.round) as [number, number, number];
    const isUnitAxis = (d: number[]) => d.filter((x) => Math.abs(Math.abs(x) - 1) < TOL).length === 1 && d.filter((x) => Math.abs(x) < TOL).length === 2;
    const offGrid = v0.some((x) => Math.abs(x - Math.round(x)) > TOL) || !isUnitAxis(du) || !isUnitAxis(dv);
    const mapping: FrameMapping = { frame: n + 1, origin, du: step(du), dv: step(dv) };
    const last = voxelAt(mapping, cols - 1, rows - 1);
    const dims = [nx, ny, nz];
    const inside = [origin, last].every((v) => v.every((x, a) => x >= 0 && x < dims[a]));
    if (offGrid || !inside) {
      throw new InputError(
        maskLabel,
        `grid does not match the reference series: reference frame ${n + 1} falls at mask voxel (${v0.map((x) => x.toFixed(2)).join(', ')}), ` +
          `not on the mask's ${nx}×${ny}×${nz} grid (resample the mask to the reference first)`,
        'grid-mismatch',
      );
    }
    // The slice axis is the one neither in-plane step moves along; each frame must own a different slice.
    const axis = [0, 1, 2].find((a) => mapping.du[a] === 0 && mapping.dv[a] === 0)!;
    const key = `${axis}:${origin[axis]}`;
    if (seenSlices.has(key)) throw new InputError(maskLabel, `reference frames ${n + 1} and an earlier one fall on the same mask slice`, 'grid-mismatch');
    seenSlices.add(key);
    return mapping;
  });
}

export function voxelAt(m: FrameMapping, col: number, row: number): [number, number, number] {
  return [0, 1, 2].map((a) => m.origin[a] + col * m.du[a] + row * m.dv[a]) as [number, number, number];
}

/** The mask's values under one frame, in DICOM pixel order (columns fastest). */
export function frameLabels(m: FrameMapping, mask: Volume, rows: number, cols: number): Int32Array {
  const [nx, ny] = mask.dims;
  const out = new Int32Array(rows * cols);
  const d = mask.data;
  const sx = m.du[0] + m.du[1] * nx + m.du[2] * nx * ny;
  const sy = m.dv[0] + m.dv[1] * nx + m.dv[2] * nx * ny;
  const base = m.origin[0] + m.origin[1] * nx + m.origin[2] * nx * ny;
  for (let r = 0; r < rows; r++) {
    let idx = base + r * sy;
    for (let c = 0; c < cols; c++, idx += sx) out[r * cols + c] = Math.round(d[idx] * mask.slope + mask.intercept);
  }
  return out;
}

function invert4(m: number[][]): number[][] {
  // Affine inverse: invert the 3×3 part, then the translation.
  const [a, b, c] = m;
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  if (Math.abs(det) < 1e-12) throw new InputError(undefined, 'the mask affine is singular');
  const r = [
    [(b[1] * c[2] - b[2] * c[1]) / det, (a[2] * c[1] - a[1] * c[2]) / det, (a[1] * b[2] - a[2] * b[1]) / det],
    [(b[2] * c[0] - b[0] * c[2]) / det, (a[0] * c[2] - a[2] * c[0]) / det, (a[2] * b[0] - a[0] * b[2]) / det],
    [(b[0] * c[1] - b[1] * c[0]) / det, (a[1] * c[0] - a[0] * c[1]) / det, (a[0] * b[1] - a[1] * b[0]) / det],
  ];
  const t = [a[3], b[3], c[3]];
  return r.map((row) => [...row, -(row[0] * t[0] + row[1] * t[1] + row[2] * t[2])]).concat([[0, 0, 0, 1]]);
}
