/**
 * Wire format of the HTTP transport: JSON for structure, raw bytes for Uint8Array values, in one body.
 * Volumes travel as hundreds of megabytes of voxels; base64 in JSON would cost a third more and a copy.
 * Layout: u32 LE JSON length, JSON (UTF-8), then each binary part as u32 LE length + bytes.
 * Pure TypeScript with no Node imports: the renderer's client uses it too.
 */
const BIN = '$bin';

/** Bounds a decoder applies before building anything: a body is never trusted to be what the client sent. */
export const CODEC_LIMITS = {
  /** The JSON part carries arguments, never voxels. */
  jsonBytes: 16 * 2 ** 20,
  /** Binary parts (a DICOM folder of many files is the largest legitimate count). */
  parts: 65536,
};

export function encodeMessage(value: unknown): Uint8Array {
  const parts: Uint8Array[] = [];
  const json = JSON.stringify(value, (_key, v) => {
    if (v instanceof Uint8Array) {
      parts.push(v);
      return { [BIN]: parts.length - 1 };
    }
    if (v instanceof ArrayBuffer) {
      parts.push(new Uint8Array(v));
      return { [BIN]: parts.length - 1 };
    }
    return v;
  });
  const head = new TextEncoder().encode(json ?? 'null');
  const total = 4 + head.length + parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, head.length, true);
  out.set(head, 4);
  let at = 4 + head.length;
  for (const p of parts) {
    view.setUint32(at, p.length, true);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

export function decodeMessage(bytes: Uint8Array): unknown {
  if (bytes.length < 4) throw new Error('message too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLength = view.getUint32(0, true);
  if (4 + jsonLength > bytes.length) throw new Error('message truncated');
  if (jsonLength > CODEC_LIMITS.jsonBytes) throw new Error(`message JSON of ${jsonLength} bytes is over the ${CODEC_LIMITS.jsonBytes} allowed`);
  const parts: Uint8Array[] = [];
  let at = 4 + jsonLength;
  while (at < bytes.length) {
    if (parts.length >= CODEC_LIMITS.parts) throw new Error(`message has more than ${CODEC_LIMITS.parts} binary parts`);
    if (at + 4 > bytes.length) throw new Error('message truncated');
    const n = view.getUint32(at, true);
    if (at + 4 + n > bytes.length) throw new Error('message truncated');
    parts.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  const json = new TextDecoder().decode(bytes.subarray(4, 4 + jsonLength));
  return JSON.parse(json, (_key, v) => {
    if (v && typeof v === 'object' && typeof v[BIN] === 'number' && Object.keys(v).length === 1) {
      const p = parts[v[BIN]];
      if (!p) throw new Error('message refers to a missing binary part');
      return p;
    }
    return v;
  });
}
