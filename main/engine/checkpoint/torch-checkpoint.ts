import { unzipSync } from 'fflate';
import { InputError } from '../../common/errors.js';
import type { StateDict } from '../model/state-dict.js';
import { DTYPE_BYTES, elementReader, toFloat32 } from './dtype.js';
import type { WeightDtype } from './dtype.js';
import { PickleError, PyDict, PyGlobal, PyObject, StorageRef, TensorRef, unpickle } from './pickle.js';
import type { OpenedTensors, TensorHeader } from './tensor-header.js';

const STORAGE_DTYPES: Record<string, WeightDtype> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
};

export interface TorchCheckpoint {
  stateDict: StateDict;
  /** Lightning's hyper_parameters, converted to plain JSON where possible (provenance only). */
  hyperParameters: unknown;
  /** Classes met in the pickle that were recorded but not interpreted (e.g. callback states). */
  opaqueClasses: string[];
}

export interface OpenedTorchCheckpoint extends OpenedTensors {
  hyperParameters: unknown;
  opaqueClasses: string[];
}

/** Reads and loads in one step, for callers that have no architecture to check the headers against. */
export function parseTorchCheckpoint(bytes: Uint8Array, file: string): TorchCheckpoint {
  const ck = openTorchCheckpoint(bytes, file);
  return { stateDict: ck.load(), hyperParameters: ck.hyperParameters, opaqueClasses: ck.opaqueClasses };
}

/**
 * torch.save (zip format, torch ≥ 1.6): `<archive>/data.pkl` is a pickle whose tensors point, through
 * persistent ids, at raw little-endian storages `<archive>/data/<key>`. A Lightning checkpoint's pickle
 * is a dict with `state_dict` (and `hyper_parameters`, optimizer states... which we ignore).
 *
 * Only data.pkl is inflated here; every tensor's view is checked against the size its storage's zip entry
 * declares, and the storages are inflated by `load`, once the caller has checked the headers.
 */
export function openTorchCheckpoint(bytes: Uint8Array, file: string): OpenedTorchCheckpoint {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    throw new InputError(file, 'not a zip-format torch checkpoint (legacy pre-1.6 torch.save files are not supported; re-save with a current PyTorch)');
  }
  const entrySizes = new Map<string, number>();
  let entries: Record<string, Uint8Array>;
  try {
    // The central directory is walked once: every entry's declared size is noted, only data.pkl is inflated.
    entries = unzipSync(bytes, {
      filter: (f) => {
        entrySizes.set(f.name, f.originalSize);
        return (f.name.endsWith('/data.pkl') || f.name === 'data.pkl') && checkEntrySize(f, MAX_PICKLE_BYTES, file);
      },
    });
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(file, `corrupt checkpoint zip (${(err as Error).message})`);
  }
  const pklName = Object.keys(entries).find((n) => n.endsWith('data.pkl'));
  if (!pklName) throw new InputError(file, 'torch checkpoint has no data.pkl');
  const prefix = pklName.slice(0, -'data.pkl'.length);

  const opaque = new Set<string>();
  let root: unknown;
  try {
    root = unpickle(entries[pklName], {
      persistentLoad: (pid) => {
        if (!Array.isArray(pid) || pid[0] !== 'storage') throw new PickleError('unexpected persistent id (not a torch storage)');
        const [, type, key, location, numel] = pid as [string, unknown, unknown, unknown, unknown];
        const typeName = type instanceof PyGlobal ? type.name : String(type);
        return new StorageRef(typeName, String(key), String(location), Number(numel));
      },
    });
  } catch (err) {
    if (err instanceof PickleError) throw new InputError(file, `unreadable checkpoint pickle: ${err.message}`);
    throw err;
  }
  let sdRaw = root instanceof PyDict && root.has('state_dict') ? root.get('state_dict') : root;
  // A dict subclass (OrderedDict is interpreted, others are opaque) keeps its entries in `items`.
  if (sdRaw instanceof PyObject) sdRaw = sdRaw.items;
  if (!(sdRaw instanceof PyDict)) throw new InputError(file, 'checkpoint holds no state_dict');

  const wanted = new Map<string, { t: TensorRef; dtype: WeightDtype; entry: string }>();
  const headers = new Map<string, TensorHeader>();
  const storageBytes = new Map<string, number>();
  const budget = { broadcast: MAX_BROADCAST_ELEMENTS };
  for (const [k, t] of sdRaw) {
    const key = String(k);
    if (!(t instanceof TensorRef)) throw new InputError(file, `state_dict entry ${key} is not a tensor`);
    const dtype = STORAGE_DTYPES[t.storage.storageType];
    if (!dtype) throw new InputError(file, `weight ${key} is stored as ${t.storage.storageType}; only float storages are supported`);
    const entry = `${prefix}data/${t.storage.key}`;
    const declared = entrySizes.get(entry);
    if (declared === undefined) throw new InputError(file, `storage data/${t.storage.key} of weight ${key} is missing from the archive`);
    checkTensorBounds(t, declared, dtype, budget, file, key);
    storageBytes.set(entry, declared);
    wanted.set(key, { t, dtype, entry });
    headers.set(key, { dims: [...t.size], dtype });
  }
  const total = [...storageBytes.values()].reduce((a, b) => a + b, 0);
  if (total > MAX_WEIGHT_BYTES)
    throw new InputError(file, `the state dict's storages declare ${total} bytes, more than the ${MAX_WEIGHT_BYTES} a checkpoint may hold`);
  collectOpaque(root, opaque);

  const load = (): StateDict => {
    let storages: Record<string, Uint8Array>;
    try {
      storages = unzipSync(bytes, { filter: (f) => storageBytes.has(f.name) });
    } catch (err) {
      throw new InputError(file, `corrupt checkpoint zip (${(err as Error).message})`);
    }
    const stateDict: StateDict = new Map();
    for (const [key, { t, dtype, entry }] of wanted) {
      const raw = storages[entry];
      // The central directory may lie about what an entry inflates to: the bytes themselves are checked again.
      if (!raw || raw.byteLength < t.storage.numel * DTYPE_BYTES[dtype])
        throw new InputError(file, `weight ${key}: its storage declares ${t.storage.numel} elements but holds ${raw?.byteLength ?? 0} bytes`);
      stateDict.set(key, { dims: [...t.size], data: gather(raw, t, dtype) });
    }
    return stateDict;
  };
  return { headers, load, hyperParameters: root instanceof PyDict ? toJson(root.get('hyper_parameters')) : undefined, opaqueClasses: [...opaque] };
}

/** A data.pkl larger than this is not a checkpoint's (the official 70.85 M-parameter one is under 100 kB). */
const MAX_PICKLE_BYTES = 64 * 2 ** 20;
/**
 * All the storages of a state dict together: the official model is 283 MB in float32, 567 MB in float64; a
 * checkpoint declaring more is refused before anything is inflated.
 */
const MAX_WEIGHT_BYTES = 2 ** 30;
/**
 * A tensor with more elements than its storage is a broadcast (a stride of 0) or an overlapping view. torch.save
 * keeps such views as they are, so a small one is read; a large one is a few bytes asking for gigabytes, and no
 * trained weight looks like that. The limit is for all such tensors of a file together.
 */
export const MAX_BROADCAST_ELEMENTS = 2 ** 20;

/** Refuses a zip entry whose declared size exceeds `max`, before it is inflated. */
function checkEntrySize(f: { name: string; size: number; originalSize: number }, max: number, file: string): boolean {
  if (!(f.originalSize <= max))
    throw new InputError(file, `archive entry ${f.name} declares ${f.originalSize} bytes, more than the ${max} a checkpoint entry may hold`);
  return true;
}

/**
 * Every number a tensor's view is built from, checked against its storage before anything is allocated: the
 * pickle says how many elements a storage has and what slice of it a tensor is, and neither may be believed.
 */
function checkTensorBounds(t: TensorRef, storageBytes: number, dtype: WeightDtype, budget: { broadcast: number }, file: string, key: string): void {
  const fail = (what: string): never => {
    throw new InputError(file, `weight ${key}: ${what}`);
  };
  const n = t.storage.numel;
  if (!Number.isSafeInteger(n) || n < 0) fail(`its storage declares ${t.storage.numel} elements`);
  if (n * DTYPE_BYTES[dtype] > storageBytes) fail(`its storage declares ${n} elements (${n * DTYPE_BYTES[dtype]} bytes) but holds ${storageBytes} bytes`);
  if (!t.size.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`size ${JSON.stringify(t.size)} is not a list of non-negative integers`);
  if (t.stride.length !== t.size.length || !t.stride.every((d) => Number.isSafeInteger(d) && d >= 0))
    fail(`stride ${JSON.stringify(t.stride)} does not fit size ${JSON.stringify(t.size)}`);
  if (!Number.isSafeInteger(t.offset) || t.offset < 0) fail(`storage offset ${t.offset} is not a non-negative integer`);
  const count = t.size.reduce((a, b) => a * b, 1);
  if (count === 0) return;
  const shape = `shape [${t.size.join(', ')}] with stride [${t.stride.join(', ')}]`;
  if (!Number.isSafeInteger(count)) fail(`${shape} has more elements than can be counted`);
  const last = t.size.reduce((a, d, i) => a + (d - 1) * t.stride[i], t.offset);
  if (!(last < n)) fail(`size ${t.size.join('×')} with stride ${t.stride.join(',')} from offset ${t.offset} reaches element ${last} of a storage of ${n}`);
  if (count > n) {
    if (count > budget.broadcast)
      fail(
        `${shape} has ${count} elements over a storage of ${n}: a broadcast this large is not a weight (at most ${MAX_BROADCAST_ELEMENTS} such elements in all)`,
      );
    budget.broadcast -= count;
  }
}

/** Copies a (possibly strided) view out of its storage into a dense row-major Float32Array; bounds were checked. */
function gather(raw: Uint8Array, t: TensorRef, dtype: WeightDtype): Float32Array {
  const count = t.size.reduce((a, b) => a * b, 1);
  const rank = t.size.length;
  let dense = 1;
  let contiguous = true;
  for (let d = rank - 1; d >= 0; d--) {
    if (t.size[d] !== 1 && t.stride[d] !== dense) contiguous = false;
    dense *= t.size[d];
  }
  // The usual case (a parameter saved whole) is one slice of the storage, converted without an index walk.
  if (contiguous || count === 0) return toFloat32(raw, t.offset * DTYPE_BYTES[dtype], count, dtype);
  const out = new Float32Array(count);
  const idx = new Array<number>(rank).fill(0);
  const read = elementReader(raw, dtype);
  for (let n = 0; n < count; n++) {
    let src = t.offset;
    for (let d = 0; d < rank; d++) src += idx[d] * t.stride[d];
    out[n] = read(src);
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < t.size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

// A pickle may share one object from many places (its memo), so a walk that does not remember where it has
// been takes exponential time on an 811-byte file: each walk below visits every object once.
function collectOpaque(v: unknown, out: Set<string>, depth = 0, seen = new Set<unknown>()): void {
  if (depth > 50 || (typeof v === 'object' && v !== null && seen.has(v))) return;
  if (typeof v === 'object' && v !== null) seen.add(v);
  if (v instanceof PyObject) {
    out.add(v.cls.qualified);
    collectOpaque(v.state, out, depth + 1, seen);
    collectOpaque(v.items, out, depth + 1, seen);
  } else if (v instanceof PyDict) {
    for (const x of v.values()) collectOpaque(x, out, depth + 1, seen);
  } else if (Array.isArray(v)) {
    for (const x of v) collectOpaque(x, out, depth + 1, seen);
  }
}

/** Best-effort JSON view of pickled hyper-parameters for the manifest's provenance; a shared object appears once. */
function toJson(v: unknown, depth = 0, seen = new Set<unknown>()): unknown {
  if (depth > 20) return null;
  if (typeof v === 'object' && v !== null) {
    if (seen.has(v)) return '<shared>';
    seen.add(v);
  }
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.slice(0, 1000).map((x) => toJson(x, depth + 1, seen));
  if (v instanceof PyDict) return Object.fromEntries([...v].slice(0, 1000).map(([k, x]) => [String(k), toJson(x, depth + 1, seen)]));
  if (v instanceof PyObject) {
    if (v.items.size > 0) return toJson(v.items, depth + 1, seen);
    if (v.state instanceof PyDict) return toJson(v.state, depth + 1, seen);
    return `<${v.cls.qualified}>`;
  }
  if (v instanceof TensorRef) return `<tensor ${v.size.join('x')}>`;
  return String(v);
}
