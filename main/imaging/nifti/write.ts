import { NIFTI1 } from 'nifti-reader-js';
import { writeFileAtomic, type WriteOptions } from '../../util/atomic-write.js';
import { gzipAsync } from '../../util/gzip.js';
import type { Volume } from '../volume.js';
import { codeFor } from './datatypes.js';
import { affineToQform } from './quaternion.js';

/** NIfTI intent codes we write (nifti1.h). */
export const NIFTI_INTENT = { none: 0, label: 1002 } as const;

export interface NiftiEncodeOptions {
  intent?: keyof typeof NIFTI_INTENT;
  /** xform codes: 1 = scanner anatomical (DICOM-derived), 2 = aligned, 4 = MNI152. */
  qformCode?: number;
  sformCode?: number;
}

const HEADER_BYTES = 352; // 348-byte header + 4 extension-flag bytes of a single-file .nii

/**
 * NIfTI-1 single-file bytes with both sform (the exact affine) and qform (its rigid part) filled, so
 * tools that read only one of them (FSL reads the qform, SPM the sform) agree on the geometry.
 * The header itself is laid out by nifti-reader-js; we only fill its fields.
 */
export function encodeNifti(volume: Volume, options: NiftiEncodeOptions = {}): Uint8Array {
  const hdr = new NIFTI1();
  const q = affineToQform(volume.affine);
  const dims = volume.dims;
  hdr.littleEndian = true;
  hdr.magic = 'n+1';
  hdr.dims = [dims.length, ...dims, ...new Array(7 - dims.length).fill(1)];
  hdr.datatypeCode = codeFor(volume.data);
  hdr.numBitsPerVoxel = volume.data.BYTES_PER_ELEMENT * 8;
  hdr.pixDims = [q.qfac, q.pixdim[0], q.pixdim[1], q.pixdim[2], volume.spacing[3] ?? 0, 0, 0, 0];
  hdr.vox_offset = HEADER_BYTES;
  hdr.scl_slope = volume.slope;
  hdr.scl_inter = volume.intercept;
  hdr.xyzt_units = 2 | 8; // millimetres, seconds
  hdr.intent_code = NIFTI_INTENT[options.intent ?? 'none'];
  hdr.description = volume.description.slice(0, 79);
  // Both transforms are always written; a source without a qform gets its sform's code so FSL sees the same space.
  const sform = options.sformCode ?? (volume.xformCodes?.sform || volume.xformCodes?.qform || 1);
  hdr.sform_code = sform;
  hdr.qform_code = options.qformCode ?? (volume.xformCodes?.qform || sform);
  hdr.quatern_b = q.b;
  hdr.quatern_c = q.c;
  hdr.quatern_d = q.d;
  [hdr.qoffset_x, hdr.qoffset_y, hdr.qoffset_z] = q.offset;
  hdr.affine = volume.affine.map((r) => r.slice());
  const header = new Uint8Array(hdr.toArrayBuffer(false));
  const voxels = new Uint8Array(volume.data.buffer, volume.data.byteOffset, volume.data.byteLength);
  const out = new Uint8Array(HEADER_BYTES + voxels.byteLength);
  out.set(header.subarray(0, HEADER_BYTES), 0);
  out.set(voxels, HEADER_BYTES);
  return out;
}

/** Writes `.nii` or `.nii.gz` (by extension) atomically; compression runs on libuv's pool, not the calling thread. */
export async function writeNifti(path: string, volume: Volume, options: NiftiEncodeOptions & WriteOptions = {}): Promise<void> {
  const raw = encodeNifti(volume, options);
  const bytes = /\.gz$/i.test(path) ? await gzipAsync(raw, 6) : raw;
  await writeFileAtomic(path, bytes, options);
}
