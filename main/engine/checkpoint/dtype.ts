/** Element types a checkpoint may store weights in; all are widened to float32 for graph building. */
export type WeightDtype = 'F32' | 'F64' | 'F16' | 'BF16';

export const DTYPE_BYTES: Record<WeightDtype, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Reads `count` little-endian elements starting at `byteOffset` of `bytes`. */
export function toFloat32(bytes: Uint8Array, byteOffset: number, count: number, dtype: WeightDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + byteOffset, count * DTYPE_BYTES[dtype]);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
    case 'BF16': {
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      for (let i = 0; i < count; i++) {
        u[0] = view.getUint16(i * 2, true) << 16;
        out[i] = f[0];
      }
      break;
    }
  }
  return out;
}

/** Element `i` of `bytes` read as `dtype` (little-endian), for strided views that are not one slice. */
export function elementReader(bytes: Uint8Array, dtype: WeightDtype): (i: number) => number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      return (i) => view.getFloat32(i * 4, true);
    case 'F64':
      return (i) => view.getFloat64(i * 8, true);
    case 'F16':
      return (i) => halfToFloat(view.getUint16(i * 2, true));
    case 'BF16': {
      const u = new Uint32Array(1);
      const f = new Float32Array(u.buffer);
      return (i) => {
        u[0] = view.getUint16(i * 2, true) << 16;
        return f[0];
      };
    }
  }
}
