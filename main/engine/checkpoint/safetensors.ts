import { InputError } from '../../common/errors.js';
import type { StateDict } from '../model/state-dict.js';
import { DTYPE_BYTES, toFloat32 } from './dtype.js';
import type { WeightDtype } from './dtype.js';
import type { OpenedTensors, TensorHeader } from './tensor-header.js';

export interface SafetensorsFile {
  tensors: StateDict;
  metadata: Record<string, string>;
}

export interface OpenedSafetensors extends OpenedTensors {
  metadata: Record<string, string>;
}

/** Reads and loads in one step, for callers that have no architecture to check the headers against. */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const st = openSafetensors(bytes, file);
  return { tensors: st.load(), metadata: st.metadata };
}

const MAX_HEADER = 100 * 1024 * 1024;

/**
 * safetensors: u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
 * then the raw bytes. Offsets are relative to the end of the header and must stay inside the file, so a tensor
 * never has more bytes than the file; nothing is converted until `load`.
 */
export function openSafetensors(bytes: Uint8Array, file: string): OpenedSafetensors {
  if (bytes.byteLength < 8) throw new InputError(file, 'not a safetensors file (shorter than its 8-byte header length)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen <= 1 || headerLen > MAX_HEADER || 8 + headerLen > bytes.byteLength) {
    throw new InputError(file, 'not a safetensors file (header length out of range)');
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch {
    throw new InputError(file, 'not a safetensors file (header is not JSON)');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new InputError(file, 'not a safetensors file (header is not a JSON object)');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  const headers = new Map<string, TensorHeader>();
  const spans = new Map<string, number>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry !== null && (typeof entry !== 'object' || Array.isArray(entry))) throw new InputError(file, '__metadata__ is not a map of strings');
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    if (!entry || typeof entry !== 'object' || Array.isArray(entry))
      throw new InputError(file, `tensor ${name} has no description (got ${JSON.stringify(entry)})`);
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e.dtype as WeightDtype;
    if (typeof e.dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw new InputError(file, `tensor ${name} has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shape = e.shape ?? [];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new InputError(file, `tensor ${name} has shape ${JSON.stringify(e.shape)}, not a list of non-negative integers`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d)))
      throw new InputError(file, `tensor ${name} has data_offsets ${JSON.stringify(offsets)}, not two integers`);
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (!(begin >= 0 && begin <= end && end <= dataLen && end - begin === count * DTYPE_BYTES[dtype])) {
      throw new InputError(file, `tensor ${name} has inconsistent data offsets (file truncated?)`);
    }
    headers.set(name, { dims: shape as number[], dtype });
    spans.set(name, dataStart + begin);
  }
  const load = (): StateDict => {
    const tensors: StateDict = new Map();
    for (const [name, { dims, dtype }] of headers) {
      tensors.set(name, {
        dims,
        data: toFloat32(
          bytes,
          spans.get(name)!,
          dims.reduce((a, b) => a * b, 1),
          dtype,
        ),
      });
    }
    return tensors;
  };
  return { headers, load, metadata };
}
