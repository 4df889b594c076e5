/**
 * A DICOM Part-10 file from a dataset's encoded bytes: preamble, "DICM", a File Meta Information group
 * (always Explicit VR Little Endian) and the dataset exactly as received. Writing the received bytes
 * instead of re-encoding dcmjs' naturalized copy keeps everything, private attributes included.
 */

import { concatBytes } from '../util/bytes.js';

// A UUID-derived UID (ISO/IEC 9834-8, root 2.25) generated once for this implementation: no registered org root needed.
const IMPLEMENTATION_CLASS_UID = '2.25.103783749732118954471607189333952000448';
const IMPLEMENTATION_VERSION = 'NEUROVERSE_01';

function element(group: number, el: number, vr: string, value: Uint8Array): Uint8Array {
  const long = vr === 'OB';
  const out = new Uint8Array((long ? 12 : 8) + value.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, group, true);
  v.setUint16(2, el, true);
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) v.setUint32(8, value.length, true);
  else v.setUint16(6, value.length, true);
  out.set(value, long ? 12 : 8);
  return out;
}

/** Values have even length: UIDs are padded with NUL, other strings with a space. */
function text(s: string, pad: number): Uint8Array {
  return new TextEncoder().encode(s.length % 2 ? s + String.fromCharCode(pad) : s);
}

export function part10(dataset: Uint8Array, meta: { sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string }): Uint8Array {
  const body = [
    element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1])),
    element(0x0002, 0x0002, 'UI', text(meta.sopClassUid, 0)),
    element(0x0002, 0x0003, 'UI', text(meta.sopInstanceUid, 0)),
    element(0x0002, 0x0010, 'UI', text(meta.transferSyntaxUid, 0)),
    element(0x0002, 0x0012, 'UI', text(IMPLEMENTATION_CLASS_UID, 0)),
    element(0x0002, 0x0013, 'SH', text(IMPLEMENTATION_VERSION, 0x20)),
  ];
  const groupBytes = body.reduce((n, e) => n + e.length, 0);
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, groupBytes, true);
  const parts = [new Uint8Array(128), new TextEncoder().encode('DICM'), element(0x0002, 0x0000, 'UL', length), ...body, dataset];
  return concatBytes(parts);
}

/**
 * Where the dataset starts in a Part-10 file (after preamble, "DICM" and the meta group), or null when
 * the file does not have the standard layout (no preamble, or no group length to skip by).
 */
export function datasetOffset(file: Uint8Array): number | null {
  if (file.length < 144 || String.fromCharCode(...file.subarray(128, 132)) !== 'DICM') return null;
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const isGroupLength =
    v.getUint16(132, true) === 0x0002 && v.getUint16(134, true) === 0x0000 && file[136] === 0x55 && file[137] === 0x4c && v.getUint16(138, true) === 4;
  if (!isGroupLength) return null;
  const end = 144 + v.getUint32(140, true);
  return end <= file.length ? end : null;
}
