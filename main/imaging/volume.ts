/**
 * The in-memory image every service shares: voxels in NIfTI storage order (x fastest) plus the
 * voxel-to-world affine in NIfTI/RAS+ millimetres. Readers (NIfTI, DICOM) produce it, the engine
 * consumes it, writers and the viewer serialise it.
 */

export type VoxelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** Row-major 4×4 matrix mapping (i, j, k, 1) voxel indices to (x, y, z, 1) RAS+ millimetres. */
export type Affine = number[][];

export interface VolumeSource {
  kind: 'nifti' | 'dicom' | 'memory';
  /** File or folder the volume came from (absent for in-memory results). */
  path?: string;
  seriesInstanceUid?: string;
  studyInstanceUid?: string;
  /** How the voxels were obtained, for the user and for provenance. */
  reader?: string;
  /** Something the reader had to assume (e.g. an unusable sform, so the qform was used), shown with the volume. */
  note?: string;
  /** DICOM header fields worth keeping (manufacturer, model, field strength, sequence...). */
  dicom?: Record<string, string | number>;
  /** Source instance of each slice along k, for exports that must reference them (DICOM-SEG). */
  instances?: SourceInstance[];
  /** When the series makes several volumes (echoes, magnitude/phase, ADC beside diffusion): all their names... */
  volumes?: string[];
  /** ...and which of them (1-based) this one is. */
  volumeIndex?: number;
}

export interface SourceInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  /** Frame number (1-based) inside a multi-frame instance. */
  frame?: number;
  path?: string;
}

/** A named, coloured value of a label map (a DICOM-SEG segment, a colour-table entry). */
export interface LabelEntry {
  value: number;
  name: string;
  /** sRGB, 0..255. */
  color: [number, number, number];
  description?: string;
}

export interface Volume {
  /** [nx, ny, nz] or [nx, ny, nz, nt] for time series. */
  dims: number[];
  /** Voxel size in mm (and repetition time for 4D), as stored in pixdim[1..]. */
  spacing: number[];
  affine: Affine;
  /** Raw stored values; the real value is value * slope + intercept. */
  data: VoxelArray;
  slope: number;
  intercept: number;
  description: string;
  source: VolumeSource;
  /** NIfTI qform/sform codes of the file it came from (1 scanner, 2 aligned, 3 Talairach, 4 MNI152), kept on export. */
  xformCodes?: { qform: number; sform: number };
  /** Names and colours of a label map's values, when its source has them (a DICOM-SEG). */
  labels?: LabelEntry[];
}

/**
 * Absolute ceiling on one volume's voxel bytes, whatever a header says (2 GiB: a 1024³ float16 or a long 4-D
 * series at 2 mm). Readers refuse more before they allocate.
 */
export const MAX_VOLUME_BYTES = 2 ** 31;

/** Volume of one voxel in mm³, from the affine (|det| of its 3×3 part), so a sheared grid counts right too. */
export function voxelVolumeMm3(affine: Affine): number {
  const a = affine;
  return Math.abs(
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]),
  );
}

export function voxelCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function spatialDims(v: Pick<Volume, 'dims'>): [number, number, number] {
  return [v.dims[0] ?? 1, v.dims[1] ?? 1, v.dims[2] ?? 1];
}

export function identityAffine(): Affine {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

export function applyAffine(a: Affine, ijk: readonly number[]): [number, number, number] {
  const [i, j, k] = ijk;
  return [
    a[0][0] * i + a[0][1] * j + a[0][2] * k + a[0][3],
    a[1][0] * i + a[1][1] * j + a[1][2] * k + a[1][3],
    a[2][0] * i + a[2][1] * j + a[2][2] * k + a[2][3],
  ];
}

/** Real-valued voxel (after slope/intercept). */
export function realValue(v: Volume, index: number): number {
  return v.data[index] * v.slope + v.intercept;
}

/** Range of real values, ignoring NaN; used for default window/level and the info command. */
export function valueRange(v: Volume): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  const d = v.data;
  for (let n = 0; n < d.length; n++) {
    const x = d[n];
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (min === Infinity) return [0, 0];
  const a = min * v.slope + v.intercept;
  const b = max * v.slope + v.intercept;
  return a <= b ? [a, b] : [b, a];
}

export function datatypeName(data: VoxelArray): string {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

/** Whether voxels are stored as integers (label maps, most scans): lookup tables and counting passes apply. */
export function isIntegerVoxelArray(a: unknown): a is Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array {
  return (
    a instanceof Uint8Array ||
    a instanceof Int8Array ||
    a instanceof Uint16Array ||
    a instanceof Int16Array ||
    a instanceof Uint32Array ||
    a instanceof Int32Array
  );
}

/**
 * A new volume on the spatial grid of `grid` (its dims, voxel size and affine, copied): a result, a mask or a map
 * computed for a target. Data as given (unscaled unless `slope`/`intercept` say otherwise), held in memory.
 */
export function volumeOnGrid(
  grid: Pick<Volume, 'dims' | 'spacing' | 'affine'>,
  data: Volume['data'],
  description: string,
  scale: { slope: number; intercept: number } = { slope: 1, intercept: 0 },
): Volume {
  return {
    dims: spatialDims(grid),
    spacing: grid.spacing.slice(0, 3),
    affine: grid.affine.map((r) => [...r]),
    data,
    slope: scale.slope,
    intercept: scale.intercept,
    description,
    source: { kind: 'memory' },
  };
}
