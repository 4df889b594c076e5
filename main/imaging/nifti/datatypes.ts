import type { VoxelArray } from '../volume.js';

/** NIfTI datatype codes (nifti1.h) for the voxel arrays we hold in memory. */
export const NIFTI_TYPE = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768,
} as const;

type Ctor = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): VoxelArray; BYTES_PER_ELEMENT: number };

const BY_CODE: Record<number, Ctor> = {
  2: Uint8Array,
  4: Int16Array,
  8: Int32Array,
  16: Float32Array,
  64: Float64Array,
  256: Int8Array,
  512: Uint16Array,
  768: Uint32Array,
};

const NAMES: Record<number, string> = {
  1: 'binary',
  32: 'complex64',
  128: 'RGB24',
  1024: 'int64',
  1280: 'uint64',
  1536: 'float128',
  1792: 'complex128',
  2304: 'RGBA32',
};

export function arrayTypeFor(code: number): Ctor | undefined {
  return BY_CODE[code];
}

export function datatypeLabel(code: number): string {
  return NAMES[code] ?? `code ${code}`;
}

export function codeFor(data: VoxelArray): number {
  if (data instanceof Uint8Array) return NIFTI_TYPE.uint8;
  if (data instanceof Int16Array) return NIFTI_TYPE.int16;
  if (data instanceof Int32Array) return NIFTI_TYPE.int32;
  if (data instanceof Float32Array) return NIFTI_TYPE.float32;
  if (data instanceof Float64Array) return NIFTI_TYPE.float64;
  if (data instanceof Int8Array) return NIFTI_TYPE.int8;
  if (data instanceof Uint16Array) return NIFTI_TYPE.uint16;
  return NIFTI_TYPE.uint32;
}
