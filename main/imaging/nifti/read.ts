import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { fileProblem, InputError } from '../../common/errors.js';
import type { Affine, Volume } from '../volume.js';
import { arrayTypeFor, datatypeLabel } from './datatypes.js';

export async function readNifti(path: string): Promise<Volume> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputError(path, fileProblem(err));
  }
  return parseNifti(bytes, path);
}

/** Parses NIfTI-1 or NIfTI-2 bytes, gzipped or not. `name` is used in error messages and provenance. */
export function parseNifti(input: Uint8Array, name: string): Volume {
  const bytes = isGzip(input) ? gunzip(input, name) : input;
  // nifti-reader-js wants a standalone ArrayBuffer. Copy when the bytes are a view into a larger one
  // (an HTTP body, a pooled Buffer): Buffer#slice would return another view, not a copy.
  const buffer =
    bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? (bytes.buffer as ArrayBuffer)
      : (Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer);
  if (bytes.byteLength < 348) {
    throw new InputError(name, `truncated: ${bytes.byteLength} bytes is shorter than a NIfTI header (348 bytes)`);
  }
  if (!nifti.isNIFTI(buffer)) {
    throw new InputError(name, 'not a NIfTI-1 or NIfTI-2 file (header magic "n+1"/"n+2" not found)');
  }
  const hdr = nifti.readHeader(buffer);
  const isV2 = hdr instanceof nifti.NIFTI2;
  const ndim = hdr.dims[0];
  if (ndim < 1 || ndim > 7) throw new InputError(name, `invalid number of dimensions (${ndim}) in the header`);
  const dims = hdr.dims.slice(1, 1 + ndim).map((d) => Math.max(1, d));
  while (dims.length < 3) dims.push(1);
  // Trailing singleton dimensions carry no data; 5-D and up are not images this app can show.
  while (dims.length > 3 && dims[dims.length - 1] === 1) dims.pop();
  if (dims.length > 4) {
    throw new InputError(name, `${dims.length}-D data (${dims.join('×')}) is not supported; expected 3-D or 4-D`);
  }
  const Ctor = arrayTypeFor(hdr.datatypeCode);
  if (!Ctor) {
    throw new InputError(name, `unsupported voxel type ${datatypeLabel(hdr.datatypeCode)}`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const offset = Math.max(Math.floor(hdr.vox_offset), isV2 ? 544 : 352);
  const need = count * Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength < offset + need) {
    throw new InputError(
      name,
      `truncated: the header promises ${dims.join('×')} voxels (${need} bytes from offset ${offset}) but only ` +
        `${Math.max(0, bytes.byteLength - offset)} bytes of voxel data are present`,
    );
  }
  // Copy into a fresh buffer: Buffer#slice is a view, and typed arrays need element-aligned offsets.
  const raw = new Uint8Array(need);
  raw.set(bytes.subarray(offset, offset + need));
  if (!hdr.littleEndian && Ctor.BYTES_PER_ELEMENT > 1) swapBytes(raw, Ctor.BYTES_PER_ELEMENT);
  const data = new Ctor(raw.buffer, 0, count);

  // nifti1.h: scl_slope == 0 means "no scaling", and then scl_inter is ignored too.
  const scaled = Number.isFinite(hdr.scl_slope) && hdr.scl_slope !== 0;
  const slope = scaled ? hdr.scl_slope : 1;
  const intercept = scaled && Number.isFinite(hdr.scl_inter) ? hdr.scl_inter : 0;
  const spacing = dims.map((_, i) => Math.abs(hdr.pixDims[i + 1]) || 1);
  return {
    dims,
    spacing,
    affine: headerAffine(hdr, bytes, isV2),
    data,
    slope,
    intercept,
    description: hdr.description.replace(/\0.*$/, ''),
    source: { kind: 'nifti', path: name, reader: isV2 ? 'nifti-2' : 'nifti-1' },
    xformCodes: { qform: hdr.qform_code, sform: hdr.sform_code },
  };
}

/**
 * sform when present, else qform, else voxel sizes only — the order nibabel and dcm2niix agree on.
 * nifti-reader-js prefers the qform when its code is higher, so the sform rows are read here directly.
 */
function headerAffine(hdr: nifti.NIFTI1 | nifti.NIFTI2, bytes: Uint8Array, isV2: boolean): Affine {
  if (hdr.sform_code > 0) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rows: number[][] = [];
    for (let r = 0; r < 3; r++) {
      const row: number[] = [];
      for (let c = 0; c < 4; c++) {
        row.push(
          isV2
            ? view.getFloat64(400 + (r * 4 + c) * 8, hdr.littleEndian)
            : view.getFloat32(280 + (r * 4 + c) * 4, hdr.littleEndian),
        );
      }
      rows.push(row);
    }
    rows.push([0, 0, 0, 1]);
    return rows;
  }
  return hdr.affine.map((row) => row.slice());
}

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

function gunzip(b: Uint8Array, name: string): Uint8Array {
  try {
    return gunzipSync(b);
  } catch (err) {
    throw new InputError(name, `gzip data is corrupt or truncated (${(err as Error).message})`);
  }
}

function swapBytes(b: Uint8Array, size: number): void {
  for (let i = 0; i < b.length; i += size) {
    for (let j = 0; j < size >> 1; j++) {
      const t = b[i + j];
      b[i + j] = b[i + size - 1 - j];
      b[i + size - 1 - j] = t;
    }
  }
}
