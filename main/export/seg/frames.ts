import type { NaturalDataset } from 'dcmjs';
import { InputError } from '../../common/errors.js';
import { invertAffine, planeOnGrid } from '../../imaging/dicom/plane.js';
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
  if (!invertAffine(mask.affine)) throw new InputError(undefined, 'the mask affine is singular');
  const seenSlices = new Set<string>();
  return perFrame.map((fg, n) => {
    const pos = item(fg.PlanePositionSequence)?.ImagePositionPatient;
    const iop = item(fg.PlaneOrientationSequence)?.ImageOrientationPatient ?? item(shared.PlaneOrientationSequence)?.ImageOrientationPatient;
    const ps = item(fg.PixelMeasuresSequence)?.PixelSpacing ?? item(shared.PixelMeasuresSequence)?.PixelSpacing;
    if (!pos || !iop || !ps) throw new InputError(maskLabel, `reference frame ${n + 1} has no position, orientation or pixel spacing`);
    const placed = planeOnGrid({ position: pos as number[], orientation: iop as number[], spacing: ps as number[] }, rows, cols, mask);
    if (typeof placed === 'string') {
      throw new InputError(
        maskLabel,
        `grid does not match the reference series: reference frame ${n + 1}: ${placed} (resample the mask to the reference first)`,
        'grid-mismatch',
      );
    }
    // Each frame must own a different slice.
    const key = `${placed.axis}:${placed.origin[placed.axis]}`;
    if (seenSlices.has(key)) throw new InputError(maskLabel, `reference frames ${n + 1} and an earlier one fall on the same mask slice`, 'grid-mismatch');
    seenSlices.add(key);
    return { frame: n + 1, origin: placed.origin, du: placed.du, dv: placed.dv };
  });
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
