import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants as zlibConstants, gunzip, gunzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { fileProblem, InputError } from '../../common/errors.js';
import type { Affine, Volume } from '../volume.js';
import { MAX_VOLUME_BYTES } from '../volume.js';
import { arrayTypeFor, datatypeLabel } from './datatypes.js';
import { qformToAffine } from './quaternion.js';

export async function readNifti(path: string): Promise<Volume> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new InputError(path, fileProblem(err));
  }
  return parseNiftiAsync(bytes, path);
}

/**
 * readNifti for a compute worker's thread, which serves no UI: the file is read in one blocking call, so its
 * inflate is on libuv's thread pool before this returns and runs while the thread computes. An async read takes
 * a round trip through the calling thread per 512 KiB, and so stalls behind any long computation there (the
 * model worker resamples one context pair while it reads the next).
 */
export function readNiftiInWorker(path: string): Promise<Volume> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    return Promise.reject(new InputError(path, fileProblem(err)));
  }
  return parseNiftiAsync(bytes, path);
}

/** parseNifti for bytes already in memory (uploads, volumes the library stores), inflated off the calling thread. */
export async function parseNiftiAsync(input: Uint8Array, name: string): Promise<Volume> {
  if (!isGzip(input)) return parseNifti(input, name);
  // Inflated on libuv's thread pool, not on the thread that serves the UI (~50 ms for a 256³ label map).
  const plan = planRead(input, name);
  return finishRead(await gunzipBoundedAsync(input, name, plan.limit, plan.offset + plan.need), name, plan, true);
}

/** Above MAX_VOLUME_BYTES a file is refused before anything is inflated or allocated. */
export const MAX_NIFTI_DATA_BYTES = MAX_VOLUME_BYTES;
/** Largest edge accepted along any axis (NIfTI-2 allows 2^63; no scanner makes more than a few thousand). */
export const MAX_NIFTI_DIM = 16384;
/** Extensions between header and voxels, and trailing padding some writers add, allowed beyond the voxel bytes. */
const INFLATE_SLACK = 16 * 2 ** 20;

/**
 * Parses NIfTI-1 or NIfTI-2 bytes, gzipped or not. `name` is used in error messages and provenance. Synchronous
 * for callers whose own API is (a corrected label map posted by the renderer, dcm2niix's uncompressed output);
 * code that can await uses parseNiftiAsync.
 */
export function parseNifti(input: Uint8Array, name: string): Volume {
  const plan = planRead(input, name);
  return plan.zipped ? finishRead(gunzipBounded(input, name, plan.limit), name, plan, true) : finishRead(input, name, plan, false);
}

interface ReadPlan {
  zipped: boolean;
  head: HeaderFields;
  ndim: number;
  dims: number[];
  Ctor: TypedArrayCtor;
  count: number;
  need: number;
  offset: number;
  /** Most bytes the (inflated) file may hold. */
  limit: number;
}

/**
 * Everything the header promises, checked before the voxels are read: a gzip bomb is stopped by the
 * header's own promise (only the header is inflated here, then at most the bytes it accounts for).
 */
function planRead(input: Uint8Array, name: string): ReadPlan {
  const zipped = isGzip(input);
  const bytes = zipped ? gunzipPrefix(input, name, 1024) : input;
  const head = checkHeaderBytes(bytes, name);
  const ndim = head.dims[0];
  if (!Number.isInteger(ndim) || ndim < 1 || ndim > 7) throw new InputError(name, `invalid number of dimensions (dim[0] = ${ndim}) in the header`);
  const stated = head.dims.slice(1, 1 + ndim);
  const bad = stated.findIndex((d) => !Number.isInteger(d) || d < 1 || d > MAX_NIFTI_DIM);
  if (bad >= 0) throw new InputError(name, `dim[${bad + 1}] is ${stated[bad]}: each of the ${ndim} dimensions must be between 1 and ${MAX_NIFTI_DIM}`);
  const dims = [...stated];
  while (dims.length < 3) dims.push(1);
  // Trailing singleton dimensions carry no data; 5-D and up are not images this app can show.
  while (dims.length > 3 && dims[dims.length - 1] === 1) dims.pop();
  if (dims.length > 4) {
    throw new InputError(name, `${dims.length}-D data (${dims.join('×')}) is not supported; expected 3-D or 4-D`);
  }
  const Ctor = arrayTypeFor(head.datatype);
  if (!Ctor) throw new InputError(name, `unsupported voxel type ${datatypeLabel(head.datatype)}`);
  const count = dims.reduce((a, b) => a * b, 1);
  const need = count * Ctor.BYTES_PER_ELEMENT;
  if (need > MAX_NIFTI_DATA_BYTES) {
    throw new InputError(
      name,
      `the header promises ${dims.join('×')} voxels of ${datatypeLabel(head.datatype)} (${gib(need)}), above the ${gib(MAX_NIFTI_DATA_BYTES)} this app reads`,
    );
  }
  if (!Number.isFinite(head.voxOffset) || head.voxOffset < 0) throw new InputError(name, `vox_offset is ${head.voxOffset}: it must be a finite byte offset`);
  // Old writers put 0 here for single files; the standard's minimum is the header plus the 4-byte extension flag.
  const offset = Math.max(Math.floor(head.voxOffset), head.v2 ? 544 : 352);
  if (offset > input.byteLength + (zipped ? MAX_NIFTI_DATA_BYTES : 0)) {
    throw new InputError(name, `vox_offset ${head.voxOffset} lies beyond the end of the file (${input.byteLength} bytes)`);
  }
  return { zipped, head, ndim, dims, Ctor, count, need, offset, limit: offset + need + INFLATE_SLACK };
}

/** The voxels and geometry from the whole (inflated) file; `owned`: the bytes are ours to use in place. */
function finishRead(bytes: Uint8Array, name: string, plan: ReadPlan, owned: boolean): Volume {
  const { head, ndim, dims, Ctor, count, need, offset } = plan;
  if (bytes.byteLength < offset + need) {
    throw new InputError(
      name,
      `truncated: the header promises ${dims.join('×')} voxels (${need} bytes from offset ${offset}) but only ` +
        `${Math.max(0, bytes.byteLength - offset)} bytes of voxel data are present`,
    );
  }
  for (let i = 0; i < Math.min(3, ndim); i++) {
    const p = head.pixdim[i + 1];
    if (!Number.isFinite(p) || p === 0) throw new InputError(name, `pixdim[${i + 1}] (voxel size) is ${p}: it must be a finite, non-zero number of mm`);
  }
  const hdr = readNiftiHeader(bytes, name);
  const data = voxelData(bytes, offset, count, Ctor, hdr.littleEndian, owned);

  // nifti1.h: scl_slope == 0 means "no scaling", and then scl_inter is ignored too.
  const scaled = Number.isFinite(hdr.scl_slope) && hdr.scl_slope !== 0;
  const slope = scaled ? hdr.scl_slope : 1;
  const intercept = scaled && Number.isFinite(hdr.scl_inter) ? hdr.scl_inter : 0;
  const spacing = dims.map((_, i) => Math.abs(head.pixdim[i + 1]) || 1);
  const { affine, note } = headerAffine(hdr, bytes, head.v2, spacing, name);
  return {
    dims,
    spacing,
    affine,
    data,
    slope,
    intercept,
    description: hdr.description.replace(/\0.*$/, ''),
    source: { kind: 'nifti', path: name, reader: head.v2 ? 'nifti-2' : 'nifti-1', ...(note ? { note } : {}) },
    xformCodes: { qform: hdr.qform_code, sform: hdr.sform_code },
  };
}

interface HeaderFields {
  v2: boolean;
  littleEndian: boolean;
  dims: number[];
  pixdim: number[];
  datatype: number;
  voxOffset: number;
}

/**
 * The fields that bound the file's size, read straight from the bytes (NIfTI-1: dim int16 at 40, datatype at 70,
 * pixdim float32 at 76, vox_offset float32 at 108; NIfTI-2: datatype int16 at 12, dim int64 at 16, pixdim float64
 * at 104, vox_offset int64 at 168), before nifti-reader-js builds anything from them.
 */
function checkHeaderBytes(bytes: Uint8Array, name: string): HeaderFields {
  if (bytes.byteLength < 348) {
    throw new InputError(name, `truncated: ${bytes.byteLength} bytes is shorter than a NIfTI header (348 bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(344, 347));
  const magic2 = String.fromCharCode(...bytes.subarray(4, 7));
  const v2 = magic2 === 'n+2' || magic2 === 'ni2';
  if (!v2 && magic !== 'n+1' && magic !== 'ni1') {
    throw new InputError(name, 'not a NIfTI-1 or NIfTI-2 file (header magic "n+1"/"n+2" not found)');
  }
  const want = v2 ? 540 : 348;
  const le = view.getInt32(0, true) === want;
  if (!le && view.getInt32(0, false) !== want) {
    throw new InputError(name, `sizeof_hdr is ${view.getInt32(0, true)}, not ${want}: the header is damaged`);
  }
  if (v2 && bytes.byteLength < 540) throw new InputError(name, `truncated: ${bytes.byteLength} bytes is shorter than a NIfTI-2 header (540 bytes)`);
  const dims: number[] = [];
  const pixdim: number[] = [];
  for (let i = 0; i < 8; i++) {
    dims.push(v2 ? Number(view.getBigInt64(16 + 8 * i, le)) : view.getInt16(40 + 2 * i, le));
    pixdim.push(v2 ? view.getFloat64(104 + 8 * i, le) : view.getFloat32(76 + 4 * i, le));
  }
  return {
    v2,
    littleEndian: le,
    dims,
    pixdim,
    datatype: v2 ? view.getInt16(12, le) : view.getInt16(70, le),
    voxOffset: v2 ? Number(view.getBigInt64(168, le)) : view.getFloat32(108, le),
  };
}

function readNiftiHeader(bytes: Uint8Array, name: string): nifti.NIFTI1 | nifti.NIFTI2 {
  // nifti-reader-js wants a standalone ArrayBuffer holding the header; copy just the header bytes.
  const header = Uint8Array.prototype.slice.call(bytes.subarray(0, Math.min(bytes.byteLength, 4096))).buffer as ArrayBuffer;
  try {
    const hdr = nifti.readHeader(header);
    if (!hdr) throw new Error('no header');
    return hdr;
  } catch (err) {
    throw new InputError(name, `the NIfTI header could not be read (${(err as Error).message})`);
  }
}

/** The voxels as a typed array; a buffer we inflated ourselves is used in place when aligned (no second copy). */
function voxelData(bytes: Uint8Array, offset: number, count: number, Ctor: TypedArrayCtor, littleEndian: boolean, owned: boolean) {
  const size = Ctor.BYTES_PER_ELEMENT;
  const start = bytes.byteOffset + offset;
  let raw: Uint8Array;
  if (owned && start % size === 0) {
    raw = new Uint8Array(bytes.buffer, start, count * size);
  } else {
    // A caller's bytes are never modified (byte swapping works in place), and typed arrays need aligned offsets.
    raw = new Uint8Array(count * size);
    raw.set(bytes.subarray(offset, offset + count * size));
  }
  if (!littleEndian && size > 1) swapBytes(raw, size);
  return new Ctor(raw.buffer, raw.byteOffset, count);
}

type TypedArrayCtor = NonNullable<ReturnType<typeof arrayTypeFor>>;

function gib(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * sform when present and usable, else qform, else voxel sizes only (the order nibabel and dcm2niix agree on),
 * each checked to be finite and invertible; falling back says so in `note`. nifti-reader-js prefers the qform
 * when its code is higher, so the sform rows are read here directly.
 */
function headerAffine(hdr: nifti.NIFTI1 | nifti.NIFTI2, bytes: Uint8Array, isV2: boolean, spacing: number[], name: string): { affine: Affine; note?: string } {
  const notes: string[] = [];
  if (hdr.sform_code > 0) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rows: number[][] = [];
    for (let r = 0; r < 3; r++) {
      const row: number[] = [];
      for (let c = 0; c < 4; c++) {
        row.push(isV2 ? view.getFloat64(400 + (r * 4 + c) * 8, hdr.littleEndian) : view.getFloat32(280 + (r * 4 + c) * 4, hdr.littleEndian));
      }
      rows.push(row);
    }
    rows.push([0, 0, 0, 1]);
    if (usableAffine(rows)) return { affine: rows };
    notes.push('the sform is not a finite, invertible matrix');
  }
  if (hdr.qform_code > 0) {
    // From the quaternion fields themselves: nifti-reader-js's own affine is the sform when both codes are set.
    const q = qformToAffine({
      b: hdr.quatern_b,
      c: hdr.quatern_c,
      d: hdr.quatern_d,
      qfac: hdr.pixDims[0] < 0 ? -1 : 1,
      offset: [hdr.qoffset_x, hdr.qoffset_y, hdr.qoffset_z],
      pixdim: [Math.abs(hdr.pixDims[1]), Math.abs(hdr.pixDims[2]), Math.abs(hdr.pixDims[3])],
    });
    if (usableAffine(q)) return { affine: q, note: notes.length ? `${notes[0]}; the qform is used` : undefined };
    notes.push('the qform is not a finite, invertible rotation');
  }
  if (notes.length === 0 && hdr.sform_code <= 0 && hdr.qform_code <= 0) {
    // No orientation stored at all: voxel sizes only (NIfTI's "method 1"), as the standard says.
    return { affine: scaleAffine(spacing), note: 'no sform or qform: orientation unknown, voxel sizes only' };
  }
  throw new InputError(name, `${notes.join(' and ')}: the scan's position and orientation cannot be known`);
}

function scaleAffine(spacing: number[]): Affine {
  return [
    [spacing[0], 0, 0, 0],
    [0, spacing[1], 0, 0],
    [0, 0, spacing[2], 0],
    [0, 0, 0, 1],
  ];
}

function usableAffine(m: number[][]): boolean {
  if (!m.slice(0, 3).every((r) => r.length === 4 && r.every(Number.isFinite))) return false;
  const [a, b, c] = m;
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  const scale = Math.max(...[0, 1, 2].map((k) => Math.hypot(a[k], b[k], c[k])));
  return Number.isFinite(det) && scale > 0 && Math.abs(det) > 1e-9 * scale ** 3;
}

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** The first `atLeast` inflated bytes (or all there are), without inflating the rest. */
function gunzipPrefix(b: Uint8Array, name: string, atLeast: number): Uint8Array {
  for (let take = 4096; ; take *= 4) {
    try {
      // Z_SYNC_FLUSH: a cut-off stream yields what it holds instead of failing.
      const out = gunzipSync(b.subarray(0, Math.min(take, b.byteLength)), {
        finishFlush: zlibConstants.Z_SYNC_FLUSH,
        maxOutputLength: Math.max(atLeast, take * 1032),
      });
      if (out.byteLength >= atLeast) return out;
      // The whole stream gave less than a header: inflate it normally, so a damaged stream says so.
      if (take >= b.byteLength) return gunzipSync(b, { maxOutputLength: atLeast + 2 ** 20 });
    } catch (err) {
      // Deflate inflates at most ~1032:1, so the bound above is never what fails here.
      throw new InputError(name, `gzip data is corrupt or truncated (${(err as Error).message})`);
    }
  }
}

/** Deflate inflates at most ~1032:1: no stream of `n` bytes can fill more than this. */
const inflatedBound = (n: number) => n * 1032 + 2 ** 16;

/**
 * gunzipBounded on libuv's thread pool. The output buffer is sized for the bytes the header promises (`expected`),
 * so the whole file inflates in one pool task into one buffer: in 1 MiB chunks zlib comes back to the calling
 * thread after each chunk (so a busy thread stalls the inflate) and copies the chunks into one buffer there at the
 * end (a 256³ T1: ~20 ms of that thread's time instead of ~6, loaded 2-core machine). One byte more than expected,
 * so that zlib does not allocate a second buffer just to learn that the stream has ended. Never larger than the
 * compressed bytes can fill, so a small hostile file cannot reserve the limit up front.
 */
function gunzipBoundedAsync(b: Uint8Array, name: string, limit: number, expected: number): Promise<Uint8Array> {
  const chunkSize = Math.max(2 ** 16, Math.min(expected + 1, inflatedBound(b.byteLength), limit));
  return new Promise((ok, fail) =>
    gunzip(b, { chunkSize, maxOutputLength: Math.min(limit, MAX_NIFTI_DATA_BYTES + INFLATE_SLACK) }, (err, out) => {
      if (!err) return ok(out);
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        fail(new InputError(name, `inflates to more than the ${gib(limit)} its header accounts for: refused`));
      else fail(new InputError(name, `gzip data is corrupt or truncated (${err.message})`));
    }),
  );
}

/** All inflated bytes, refusing to grow past `limit` (a gzip bomb stops there, not at the end of memory). */
function gunzipBounded(b: Uint8Array, name: string, limit: number): Uint8Array {
  try {
    return gunzipSync(b, { maxOutputLength: Math.min(limit, MAX_NIFTI_DATA_BYTES + INFLATE_SLACK) });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new InputError(name, `inflates to more than the ${gib(limit)} its header accounts for: refused`);
    }
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
