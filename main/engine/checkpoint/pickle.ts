/**
 * A pickle reader for what torch.save writes (protocols 2-5). It never executes anything: GLOBAL/STACK_GLOBAL
 * resolve to inert markers, and REDUCE/NEWOBJ/BUILD on them only record their arguments, except for the few
 * constructors below that are pure data (OrderedDict, tensor rebuilds, bytes via _codecs.encode). Modules
 * outside the allowlist (os, subprocess, builtins.eval, ...) are refused outright so a hostile file cannot
 * even pretend to be a checkpoint. Unknown opcodes are an error.
 */

export class PickleError extends Error {}

/** `module.name` of a pickled class or function; inert. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object of a class we do not interpret (Lightning callbacks state, numpy scalars...): args and state only. */
export class PyObject {
  state: unknown;
  /** Items of a dict subclass (e.g. Lightning's AttributeDict), set by SETITEM(S) after NEWOBJ. */
  readonly items = new PyDict();
  /** Elements of a list subclass, set by APPEND(S). */
  readonly elements: unknown[] = [];
  constructor(
    readonly cls: PyGlobal,
    readonly args: unknown[],
  ) {}
}

/** Python dict (keys may be ints or tuples, so not a JS object). */
export class PyDict extends Map<unknown, unknown> {}

/** The persistent id a torch storage is pickled as: ('storage', storage_type, key, location, numel). */
export class StorageRef {
  constructor(
    readonly storageType: string,
    readonly key: string,
    readonly location: string,
    readonly numel: number,
  ) {}
}

/** torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...). */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

const ALLOWED_MODULE =
  /^(torch|collections|_codecs|copyreg|argparse|numpy|pathlib|datetime|pytorch_lightning|lightning|lightning_fabric|omegaconf|typing|enum)(\.|$)/;
const ALLOWED_BUILTINS = new Set(['set', 'frozenset', 'list', 'dict', 'tuple', 'bytearray', 'slice', 'complex', 'object', 'int', 'float', 'str', 'bool']);

function resolveGlobal(module: string, name: string): PyGlobal {
  const ok = module === 'builtins' || module === '__builtin__' ? ALLOWED_BUILTINS.has(name) : ALLOWED_MODULE.test(module);
  if (!ok) throw new PickleError(`refusing global ${module}.${name} (not something torch.save writes for a checkpoint)`);
  return new PyGlobal(module, name);
}

function call(fn: unknown, args: unknown[]): unknown {
  if (!(fn instanceof PyGlobal)) throw new PickleError('REDUCE on a non-class value');
  switch (fn.qualified) {
    case 'collections.OrderedDict':
    case 'builtins.dict':
      return new PyDict();
    case 'builtins.set':
    case 'builtins.frozenset':
    case 'builtins.list':
      return Array.isArray(args[0]) ? [...(args[0] as unknown[])] : [];
    case 'builtins.tuple':
      return Array.isArray(args[0]) ? [...(args[0] as unknown[])] : [];
    case 'torch.Size':
      return Array.isArray(args[0]) ? [...(args[0] as unknown[])] : [];
    case '_codecs.encode': {
      // Protocol 2 pickles bytes as _codecs.encode(str, 'latin1').
      const s = String(args[0] ?? '');
      return Uint8Array.from(s, (ch) => ch.charCodeAt(0) & 0xff);
    }
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2': {
      const [storage, offset, size, stride] = args;
      if (!(storage instanceof StorageRef)) throw new PickleError('tensor rebuild without a storage');
      return new TensorRef(storage, Number(offset), (size as unknown[]).map(Number), (stride as unknown[]).map(Number));
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return args[0];
    default:
      return new PyObject(fn, args);
  }
}

function setState(obj: unknown, state: unknown): void {
  if (obj instanceof PyDict && state instanceof PyDict) {
    for (const [k, v] of state) obj.set(k, v);
  } else if (obj instanceof PyObject) {
    obj.state = state;
  }
  // BUILD on anything else (e.g. a tensor's backward-hooks dict) carries nothing we need.
}

export interface PickleOptions {
  persistentLoad?: (pid: unknown) => unknown;
}

/** Longest LONG1/LONG4 integer decoded. */
export const MAX_LONG_BYTES = 64;

export function unpickle(bytes: Uint8Array, opts: PickleOptions = {}): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  let pos = 0;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number) => {
    if (pos + n > bytes.byteLength) throw new PickleError('truncated pickle');
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => (need(8), (pos += 8), Number(view.getBigUint64(pos - 8, true)));
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos));
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError('truncated pickle');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0) throw new PickleError('pickle stack underflow');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw new PickleError('pickle MARK missing');
    return stack.splice(m);
  };
  const top = () => stack[stack.length - 1];
  const setItems = (d: unknown, items: unknown[]) => {
    const target = d instanceof PyObject ? d.items : d;
    if (!(target instanceof PyDict)) throw new PickleError('SETITEM on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };
  const appendItems = (l: unknown, items: unknown[]) => {
    const target = l instanceof PyObject ? l.elements : l;
    if (!Array.isArray(target)) throw new PickleError('APPEND on a non-list');
    // A loop, not push(...items): a million items spread as arguments overflow the call stack.
    for (const x of items) target.push(x);
  };
  const longFrom = (b: Uint8Array) => {
    // A checkpoint's integers (sizes, strides, step counts) fit in 8 bytes; a megabyte-long integer would take
    // quadratic time to decode and means nothing here.
    if (b.length > MAX_LONG_BYTES) throw new PickleError(`an integer of ${b.length} bytes (at most ${MAX_LONG_BYTES} are read)`);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return Number(v);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x74: // TUPLE
      case 0x6c: // LIST
      case 0x91: // FROZENSET
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: // APPEND
        appendItems(stack[stack.length - 2], [pop()]);
        break;
      case 0x65: // APPENDS
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: // LONG1
        stack.push(longFrom(take(u8())));
        break;
      case 0x8b: // LONG4
        stack.push(longFrom(take(u32())));
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(dec.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(dec.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(dec.decode(take(u64())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      case 0x55: // SHORT_BINSTRING (protocol 2 str of Python 2)
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(take(u32())));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const idx = op === 0x68 ? u8() : u32();
        if (!memo.has(idx)) throw new PickleError(`pickle memo ${idx} missing`);
        stack.push(memo.get(idx));
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = String(pop());
        const module = String(pop());
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, Array.isArray(args) ? args : []));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(call(cls, Array.isArray(args) ? args : []));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop();
        const args = pop();
        const cls = pop();
        stack.push(call(cls, Array.isArray(args) ? args : []));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        setState(top(), state);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) throw new PickleError('persistent id without a loader');
        stack.push(opts.persistentLoad(pid));
        break;
      }
      default:
        throw new PickleError(`unsupported pickle opcode 0x${op.toString(16)} at byte ${pos - 1}`);
    }
  }
}
