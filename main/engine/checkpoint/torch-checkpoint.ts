import { unzipSync } from 'fflate';
import { InputError } from '../../common/errors.js';
import type { StateDict } from '../model/state-dict.js';
import { toFloat32 } from './dtype.js';
import type { WeightDtype } from './dtype.js';
import { PickleError, PyDict, PyGlobal, PyObject, StorageRef, TensorRef, unpickle } from './pickle.js';

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

/**
 * torch.save (zip format, torch ≥ 1.6): `<archive>/data.pkl` is a pickle whose tensors point, through
 * persistent ids, at raw little-endian storages `<archive>/data/<key>`. A Lightning checkpoint's pickle
 * is a dict with `state_dict` (and `hyper_parameters`, optimizer states... which we ignore).
 */
export function parseTorchCheckpoint(bytes: Uint8Array, file: string): TorchCheckpoint {
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    throw new InputError(file, 'not a zip-format torch checkpoint (legacy pre-1.6 torch.save files are not supported; re-save with a current PyTorch)');
  }
  let entries: Record<string, Uint8Array>;
  try {
    // Optimizer moments and other storages are skipped: only data.pkl is decompressed up front.
    entries = unzipSync(bytes, { filter: (f) => f.name.endsWith('/data.pkl') || f.name === 'data.pkl' });
  } catch (err) {
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

  const wanted: [string, TensorRef][] = [];
  for (const [k, v] of sdRaw) {
    if (!(v instanceof TensorRef)) throw new InputError(file, `state_dict entry ${String(k)} is not a tensor`);
    wanted.push([String(k), v]);
  }
  const storageNames = new Set(wanted.map(([, t]) => `${prefix}data/${t.storage.key}`));
  let storages: Record<string, Uint8Array>;
  try {
    storages = unzipSync(bytes, { filter: (f) => storageNames.has(f.name) });
  } catch (err) {
    throw new InputError(file, `corrupt checkpoint zip (${(err as Error).message})`);
  }

  const stateDict: StateDict = new Map();
  for (const [key, t] of wanted) {
    const dtype = STORAGE_DTYPES[t.storage.storageType];
    if (!dtype) throw new InputError(file, `weight ${key} is stored as ${t.storage.storageType}; only float storages are supported`);
    const raw = storages[`${prefix}data/${t.storage.key}`];
    if (!raw) throw new InputError(file, `storage data/${t.storage.key} of weight ${key} is missing from the archive`);
    stateDict.set(key, { dims: t.size, data: gather(raw, t, dtype, file, key) });
  }
  collectOpaque(root, opaque);
  return { stateDict, hyperParameters: root instanceof PyDict ? toJson(root.get('hyper_parameters')) : undefined, opaqueClasses: [...opaque] };
}

/** Copies a (possibly strided) view out of its storage into a dense row-major Float32Array. */
function gather(raw: Uint8Array, t: TensorRef, dtype: WeightDtype, file: string, key: string): Float32Array {
  const all = toFloat32(raw, 0, t.storage.numel, dtype);
  const count = t.size.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  const rank = t.size.length;
  const idx = new Array<number>(rank).fill(0);
  for (let n = 0; n < count; n++) {
    let src = t.offset;
    for (let d = 0; d < rank; d++) src += idx[d] * t.stride[d];
    if (src < 0 || src >= all.length) throw new InputError(file, `weight ${key} points outside its storage`);
    out[n] = all[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < t.size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function collectOpaque(v: unknown, out: Set<string>, depth = 0): void {
  if (depth > 50) return;
  if (v instanceof PyObject) {
    out.add(v.cls.qualified);
    collectOpaque(v.state, out, depth + 1);
    collectOpaque(v.items, out, depth + 1);
  } else if (v instanceof PyDict) {
    for (const x of v.values()) collectOpaque(x, out, depth + 1);
  } else if (Array.isArray(v)) {
    for (const x of v) collectOpaque(x, out, depth + 1);
  }
}

/** Best-effort JSON view of pickled hyper-parameters for the manifest's provenance. */
function toJson(v: unknown, depth = 0): unknown {
  if (depth > 20) return null;
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => toJson(x, depth + 1));
  if (v instanceof PyDict) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJson(x, depth + 1)]));
  if (v instanceof PyObject) {
    if (v.items.size > 0) return toJson(v.items, depth + 1);
    if (v.state instanceof PyDict) return toJson(v.state, depth + 1);
    return `<${v.cls.qualified}>`;
  }
  if (v instanceof TensorRef) return `<tensor ${v.size.join('x')}>`;
  return String(v);
}
