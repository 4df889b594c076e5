import { Zip, ZipDeflate, ZipPassThrough } from 'fflate';

// torch.save's zip format written by hand, opcode by opcode (pickle protocol 2), so that tests can state exactly
// what a hostile file declares: sizes, strides and storages no PyTorch call would produce.
const enc = new TextEncoder();
export const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
export const str = (s: string) => {
  const b = enc.encode(s);
  return b.length < 256 ? [0x8c, b.length, ...b] : [0x58, ...u32(b.length), ...b]; // SHORT_BINUNICODE / BINUNICODE
};
/** BININT for what fits 32 bits, else LONG1 (little-endian two's complement), as pickle writes Python ints. */
export const int = (n: number) => {
  if (n >= -(2 ** 31) && n < 2 ** 31) return [0x4a, ...u32(n)];
  const bytes: number[] = [];
  let v = BigInt(n);
  for (let i = 0; i < 8; i++, v >>= 8n) bytes.push(Number(v & 0xffn));
  return [0x8a, 8, ...bytes];
};
export const global = (module: string, name: string) => [0x63, ...enc.encode(`${module}\n${name}\n`)];
export const MARK = 0x28;
export const TUPLE = 0x74;

export interface TensorSpec {
  key: string;
  /** Storage key: the archive entry data/<storage>. */
  storage: string;
  /** Elements the storage declares. */
  numel: number;
  size: number[];
  stride?: number[];
  offset?: number;
  storageType?: string;
}

/** Row-major strides of `size`. */
export function contiguous(size: number[]): number[] {
  const s = new Array<number>(size.length);
  for (let d = size.length - 1, m = 1; d >= 0; m *= size[d], d--) s[d] = m;
  return s;
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)` of one tensor, as pickle opcodes. */
export function tensorOps(t: TensorSpec): number[] {
  const storage = [
    MARK,
    ...str('storage'),
    ...global('torch', t.storageType ?? 'FloatStorage'),
    ...str(t.storage),
    ...str('cpu'),
    ...int(t.numel),
    TUPLE,
    0x51,
  ];
  const tuple = (xs: number[]) => [MARK, ...xs.flatMap(int), TUPLE];
  const args = [MARK, ...storage, ...int(t.offset ?? 0), ...tuple(t.size), ...tuple(t.stride ?? contiguous(t.size)), 0x89, 0x7d, TUPLE];
  return [...global('torch._utils', '_rebuild_tensor_v2'), ...args, 0x52];
}

/** {'state_dict': {key: tensor...}, 'hyper_parameters': hyper} as a pickle. */
export function checkpointPickle(tensors: TensorSpec[], hyper: number[] = [0x4e]): Uint8Array {
  const sd = [0x7d, MARK, ...tensors.flatMap((t) => [...str(t.key), ...tensorOps(t)]), 0x75];
  return Uint8Array.from([0x80, 2, 0x7d, MARK, ...str('state_dict'), ...sd, ...str('hyper_parameters'), ...hyper, 0x75, 0x2e]);
}

/**
 * The archive: data.pkl and one entry per storage. A storage given as a number is that many zero bytes,
 * deflated chunk by chunk, so a test can write a file that inflates to hundreds of megabytes without holding them.
 */
export function torchZip(pickle: Uint8Array, storages: Record<string, Uint8Array | number>): Uint8Array {
  const parts: Uint8Array[] = [];
  const zip = new Zip((err, chunk) => {
    if (err) throw err;
    parts.push(chunk);
  });
  const pkl = new ZipPassThrough('archive/data.pkl');
  zip.add(pkl);
  pkl.push(pickle, true);
  for (const [key, data] of Object.entries(storages)) {
    if (typeof data === 'number') {
      const entry = new ZipDeflate(`archive/data/${key}`, { level: 1 });
      zip.add(entry);
      const chunk = new Uint8Array(Math.min(data, 1 << 22));
      for (let left = data; left > 0; left -= chunk.length) entry.push(left > chunk.length ? chunk : chunk.subarray(0, left), left <= chunk.length);
      if (data === 0) entry.push(new Uint8Array(0), true);
    } else {
      const entry = new ZipPassThrough(`archive/data/${key}`);
      zip.add(entry);
      entry.push(data, true);
    }
  }
  zip.end();
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}
