import { InputError } from '../../common/errors.js';
import type { Volume, VoxelArray } from '../volume.js';
import { MAX_VOLUME_BYTES } from '../volume.js';
import { cross, dot, sliceStackAffine } from './geometry.js';
import type { PixelHeader } from './header.js';
import { qformDeviationMm, sliceTiltDegrees } from '../tilt.js';

const TOL = 1e-4;
/** Below this, an oblique step is rounding in the positions, not a tilt. */
const TILT_NOTE_DEGREES = 0.1;

/**
 * Builds a volume from a classic series (one uncompressed slice per file) read with dicom-parser.
 * `label` names the folder in errors.
 */
export function buildClassicVolume(headers: PixelHeader[], label: string): Volume {
  checkUniform(headers, label);
  const normal0 = cross(headers[0].orientation!.slice(0, 3), headers[0].orientation!.slice(3, 6));
  const sorted = [...headers].sort((a, b) => dot(a.position!, normal0) - dot(b.position!, normal0));
  // Geometry comes from the first slice in space, not the first file read: vendors round the
  // orientation per file, and the result must not depend on file names.
  const first = sorted[0];
  const orientation = first.orientation!;
  const n = sorted.length;
  const p0 = sorted[0].position!;
  const pN = sorted[n - 1].position!;
  let step: number[];
  if (n > 1) {
    step = [0, 1, 2].map((a) => (pN[a] - p0[a]) / (n - 1));
    checkEvenSpacing(sorted, normal0, label);
  } else {
    const t = first.sliceThickness ?? 1;
    step = normal0.map((v) => v * t);
  }
  const { rows, columns } = first;
  const perSlice = rows * columns;
  checkPixelBudget(sorted, perSlice, label);
  const scaling = sliceScaling(sorted);
  const uniformScale = scaling.every((s) => s.slope === scaling[0].slope && s.intercept === scaling[0].intercept);
  const raw = allocate(first, perSlice * n);
  const data: VoxelArray = uniformScale ? raw : new Float32Array(perSlice * n);
  sorted.forEach((h, k) => {
    const slice = slicePixels(h, perSlice);
    if (uniformScale) {
      raw.set(slice as never, k * perSlice);
    } else {
      // Per-slice rescale values differ (seen on some Philips and GE series): store real values instead.
      const { slope, intercept } = scaling[k];
      for (let v = 0; v < perSlice; v++) (data as Float32Array)[k * perSlice + v] = slice[v] * slope + intercept;
    }
  });
  const spacingZ = Math.hypot(step[0], step[1], step[2]);
  const affine = sliceStackAffine(orientation, first.pixelSpacing!, p0, step);
  const tilt = n > 1 ? sliceTiltDegrees(affine) : 0;
  // Gantry-tilted CT: the slices are stepped obliquely to their planes. Kept exactly in the affine (a shear), but said.
  const note =
    tilt > TILT_NOTE_DEGREES
      ? `slices tilted by ${tilt.toFixed(2)}° to their planes (gantry tilt): the affine holds the shear; a NIfTI qform cannot, and is set from the nearest rigid part, up to ${qformDeviationMm(affine, [columns, rows, n]).toFixed(1)} mm away (convert --tilt-correct resamples onto an orthogonal grid)`
      : undefined;
  return {
    dims: [columns, rows, n],
    spacing: [first.pixelSpacing![1], first.pixelSpacing![0], spacingZ || first.sliceThickness || 1],
    affine,
    data,
    slope: uniformScale ? scaling[0].slope : 1,
    intercept: uniformScale ? scaling[0].intercept : 0,
    description: first.seriesDescription,
    source: {
      kind: 'dicom',
      path: label,
      reader: 'dicom-parser',
      ...(note ? { note } : {}),
      seriesInstanceUid: first.seriesInstanceUid,
      studyInstanceUid: first.studyInstanceUid,
      dicom: { ...first.scanner, modality: first.modality, seriesNumber: first.seriesNumber ?? '' },
      instances: sorted.map((h) => ({ sopClassUid: h.sopClassUid, sopInstanceUid: h.sopInstanceUid, path: h.file.path ?? h.file.name })),
    },
  };
}

function checkUniform(headers: PixelHeader[], label: string): void {
  const sizes = new Map<string, number>();
  for (const h of headers) {
    const key = `${h.columns}×${h.rows}`;
    sizes.set(key, (sizes.get(key) ?? 0) + 1);
  }
  if (sizes.size > 1) {
    const list = [...sizes.entries()].map(([k, c]) => `${k} (${c} file${c === 1 ? '' : 's'})`).join(', ');
    throw new InputError(label, `mixed image sizes in one series: ${list}`);
  }
  const f = headers[0];
  for (const h of headers) {
    if (h.orientation!.some((v, i) => Math.abs(v - f.orientation![i]) > TOL)) {
      throw new InputError(h.file.path ?? h.file.name, 'slice orientation differs from the rest of the series');
    }
    if (h.pixelSpacing!.some((v, i) => Math.abs(v - f.pixelSpacing![i]) > TOL)) {
      throw new InputError(h.file.path ?? h.file.name, 'pixel spacing differs from the rest of the series');
    }
    if (h.bitsAllocated !== f.bitsAllocated || h.pixelRepresentation !== f.pixelRepresentation) {
      throw new InputError(h.file.path ?? h.file.name, 'pixel format differs from the rest of the series');
    }
  }
}

/**
 * Uneven gaps mean a missing slice or a variable-spacing acquisition; a single affine would misplace voxels.
 * The message says which: a few gaps that are whole multiples of the spacing elsewhere are missing slices;
 * runs of constant spacing that change from one run to the next are blocks (CT protocols do this on purpose).
 */
function checkEvenSpacing(sorted: PixelHeader[], normal: number[], label: string): void {
  const d = sorted.map((h) => dot(h.position!, normal));
  const mean = (d[d.length - 1] - d[0]) / (d.length - 1);
  const gaps = d.slice(1).map((x, k) => x - d[k]);
  const tol = (g: number) => Math.max(0.01, 0.05 * Math.abs(g));
  const bad = gaps.findIndex((g) => Math.abs(g - mean) > tol(mean));
  if (bad < 0) return;
  const blocks = spacingBlocks(gaps);
  const fmt = (b: { from: number; to: number; gap: number }) => `${b.gap.toFixed(3)} mm for slices ${b.from + 1}–${b.to + 1}`;
  // The commonest spacing, and whether every other gap is a whole multiple of it (a slice or more missing).
  const common = [...blocks].sort((a, b) => b.to - b.from - (a.to - a.from))[0].gap;
  const odd = blocks.filter((b) => Math.abs(b.gap - common) > tol(common));
  const missing = odd.every(
    (b) => b.to - b.from === 1 && Math.round(b.gap / common) >= 2 && Math.abs(b.gap - Math.round(b.gap / common) * common) <= tol(common),
  );
  if (missing) {
    const where = odd.map((b) => `${b.gap.toFixed(3)} mm between slices ${b.from + 1} and ${b.to + 1}`).join(', ');
    throw new InputError(label, `uneven slice spacing (${where}, ${common.toFixed(3)} mm elsewhere): a slice may be missing`);
  }
  if (blocks.length <= 4 && blocks.every((b) => b.to - b.from >= 2)) {
    throw new InputError(
      label,
      `slice spacing changes in contiguous blocks (${blocks.map(fmt).join(', ')}): a variable-spacing acquisition, which one voxel grid cannot hold; convert each block as its own series or resample the stack`,
    );
  }
  throw new InputError(
    label,
    `uneven slice spacing (${gaps[bad].toFixed(3)} mm between slices ${bad + 1} and ${bad + 2}, ${mean.toFixed(3)} mm on average): a slice may be missing`,
  );
}

/** Runs of (nearly) equal gaps: gap k lies between slices k and k + 1; a run covers slices from..to. */
function spacingBlocks(gaps: number[]): { from: number; to: number; gap: number }[] {
  const blocks: { from: number; to: number; gap: number; sum: number }[] = [];
  gaps.forEach((g, k) => {
    const last = blocks.at(-1);
    if (last && Math.abs(g - last.gap) <= Math.max(0.01, 0.05 * Math.abs(last.gap))) {
      last.to = k + 1;
      last.sum += g;
      last.gap = last.sum / (last.to - last.from);
    } else blocks.push({ from: k, to: k + 1, gap: g, sum: g });
  });
  return blocks.map(({ from, to, gap }) => ({ from, to, gap }));
}

function sliceScaling(sorted: PixelHeader[]): { slope: number; intercept: number }[] {
  return sorted.map((h) => {
    if (h.philipsScaleSlope !== null) {
      // Philips "precise" values (as dcm2niix writes by default): FP = (SV·RS + RI) / (RS · SS).
      const rs = h.rescaleSlope || 1;
      return { slope: 1 / h.philipsScaleSlope, intercept: h.rescaleIntercept / (rs * h.philipsScaleSlope) };
    }
    return { slope: h.rescaleSlope || 1, intercept: h.rescaleIntercept };
  });
}

/**
 * Before anything is allocated: a sane image size, and every file holding the pixel bytes its own header
 * promises (a header saying Rows = 65535 in a small file is refused here, not by the allocator).
 */
function checkPixelBudget(sorted: PixelHeader[], perSlice: number, label: string): void {
  const f = sorted[0];
  if (!(f.rows >= 1 && f.columns >= 1 && f.rows <= MAX_DICOM_EDGE && f.columns <= MAX_DICOM_EDGE)) {
    throw new InputError(f.file.path ?? f.file.name, `image size ${f.columns}×${f.rows} (Columns × Rows) is not between 1 and ${MAX_DICOM_EDGE}`);
  }
  const need = perSlice * (f.bitsAllocated / 8);
  if (need * sorted.length > MAX_VOLUME_BYTES) {
    throw new InputError(
      label,
      `${sorted.length} slices of ${f.columns}×${f.rows} at ${f.bitsAllocated} bits need ${need * sorted.length} bytes, above the ${MAX_VOLUME_BYTES} this app reads`,
    );
  }
  for (const h of sorted) {
    const el = h.pixelData;
    if (!el || el.length < need || el.dataOffset + need > h.file.data.byteLength) {
      throw new InputError(
        h.file.path ?? h.file.name,
        `pixel data truncated: Rows ${h.rows} × Columns ${h.columns} × ${h.bitsAllocated} bits need ${need} bytes, the file holds ${el ? Math.min(el.length, h.file.data.byteLength - el.dataOffset) : 0}`,
      );
    }
  }
}

/** Largest Rows or Columns accepted (whole-slide microscopy aside, no modality comes near it). */
const MAX_DICOM_EDGE = 16384;

function allocate(h: PixelHeader, count: number): VoxelArray {
  const signed = h.pixelRepresentation === 1;
  switch (h.bitsAllocated) {
    case 8:
      return signed ? new Int8Array(count) : new Uint8Array(count);
    case 16:
      return signed ? new Int16Array(count) : new Uint16Array(count);
    case 32:
      return signed ? new Int32Array(count) : new Uint32Array(count);
    default:
      throw new InputError(h.file.path ?? h.file.name, `unsupported BitsAllocated ${h.bitsAllocated}`);
  }
}

function slicePixels(h: PixelHeader, count: number): VoxelArray {
  const el = h.pixelData;
  const bytesPer = h.bitsAllocated / 8;
  const need = count * bytesPer;
  if (!el || el.length < need || el.dataOffset + need > h.file.data.byteLength) {
    throw new InputError(h.file.path ?? h.file.name, `pixel data truncated (need ${need} bytes)`);
  }
  // Copy: Buffer#slice is a view into the whole file, and typed arrays need aligned offsets.
  const bytes = new Uint8Array(need);
  bytes.set(h.file.data.subarray(el.dataOffset, el.dataOffset + need));
  if (h.transferSyntax === '1.2.840.10008.1.2.2' && bytesPer > 1) {
    for (let i = 0; i < bytes.length; i += bytesPer) bytes.subarray(i, i + bytesPer).reverse();
  }
  const arr = allocate(h, 0).constructor as new (b: ArrayBufferLike, o: number, n: number) => VoxelArray;
  return new arr(bytes.buffer, 0, count);
}
