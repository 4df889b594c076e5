import { zipSync } from 'fflate';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../main/common/errors.js';
import { parseSafetensors } from '../../main/engine/checkpoint/safetensors.js';
import { parseTorchCheckpoint } from '../../main/engine/checkpoint/torch-checkpoint.js';

// Hostile checkpoints built at test time, opcode by opcode (pickle protocol 2, the way torch.save writes them).
const enc = new TextEncoder();
const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const str = (s: string) => [0x8c, s.length, ...enc.encode(s)]; // SHORT_BINUNICODE
const int = (n: number) => [0x4a, ...u32(n)]; // BININT
const global = (module: string, name: string) => [0x63, ...enc.encode(`${module}\n${name}\n`)];
const MARK = 0x28;
const TUPLE = 0x74;

/** {'state_dict': stateDict, 'hyper_parameters': hyper} as a pickle. */
function checkpointPickle(stateDict: number[], hyper: number[]): Uint8Array {
  return Uint8Array.from([0x80, 2, 0x7d, MARK, ...str('state_dict'), ...stateDict, ...str('hyper_parameters'), ...hyper, 0x75, 0x2e]);
}

/** A state dict with one tensor `w` of `size` over storage "0" declaring `numel` elements. */
function oneTensor(size: number[], stride: number[], numel: number): number[] {
  const storage = [MARK, ...str('storage'), ...global('torch', 'FloatStorage'), ...str('0'), ...str('cpu'), ...int(numel), TUPLE, 0x51];
  const tuple = (xs: number[]) => [MARK, ...xs.flatMap(int), TUPLE];
  const args = [MARK, ...storage, ...int(0), ...tuple(size), ...tuple(stride), 0x89, 0x7d, TUPLE];
  return [0x7d, ...str('w'), ...global('torch._utils', '_rebuild_tensor_v2'), ...args, 0x52, 0x73];
}

function archive(pickle: Uint8Array, storage = new Uint8Array(16)): Uint8Array {
  return zipSync({ 'archive/data.pkl': pickle, 'archive/data/0': storage }, { level: 0 });
}

function refusal(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(InputError);
    expect((e as Error).message).not.toContain('\n');
    return e as InputError;
  }
  throw new Error('accepted');
}

describe('hostile torch checkpoints: bounded work, checked sizes, one clear error', () => {
  test('a pickle that shares one list from everywhere (a DAG, 2^40 paths) is read in one pass', () => {
    // [] then 40 times: a pair holding the previous value twice (BINGET, TUPLE2), memoised over the last.
    const dag = [0x5d, 0x71, 0];
    for (let i = 0; i < 40; i++) dag.push(0x68, 0, 0x86, 0x71, 0);
    const ck = parseTorchCheckpoint(archive(checkpointPickle(oneTensor([2, 2], [2, 1], 4), dag)), 'dag.ckpt');
    expect(ck.stateDict.get('w')?.dims).toEqual([2, 2]);
    expect(JSON.stringify(ck.hyperParameters)).toContain('<shared>');
  });

  test('a megabyte-long integer is refused instead of decoded in quadratic time', () => {
    const long = [0x8b, ...u32(1 << 20), ...new Uint8Array(1 << 20).fill(0x7f)];
    const e = refusal(() => parseTorchCheckpoint(archive(checkpointPickle(oneTensor([2], [1], 4), long)), 'long.ckpt'));
    expect(e.message).toMatch(/long\.ckpt: unreadable checkpoint pickle: an integer of 1048576 bytes/);
  });

  test('a million appends to one list do not overflow the stack', () => {
    const many = [0x5d, MARK, ...new Array(1_000_000).fill(0x4e), 0x65];
    const ck = parseTorchCheckpoint(archive(checkpointPickle(oneTensor([2], [1], 4), many)), 'many.ckpt');
    expect(ck.stateDict.size).toBe(1);
  });

  test('a tensor declaring 2^30 elements over a 16-byte storage is refused before allocating', () => {
    const e = refusal(() => parseTorchCheckpoint(archive(checkpointPickle(oneTensor([1024, 1024, 1024], [1 << 20, 1024, 1], 1 << 30), [0x4e])), 'huge.ckpt'));
    expect(e.message).toMatch(/huge\.ckpt: weight w: its storage declares 1073741824 elements \(4294967296 bytes\) but holds 16 bytes/);
  });

  test('a view reaching past its storage, and negative sizes, are refused', () => {
    expect(refusal(() => parseTorchCheckpoint(archive(checkpointPickle(oneTensor([3, 3], [3, 1], 4), [0x4e])), 'past.ckpt')).message).toMatch(
      /reaches element 8 of a storage of 4/,
    );
    expect(refusal(() => parseTorchCheckpoint(archive(checkpointPickle(oneTensor([-1], [1], 4), [0x4e])), 'neg.ckpt')).message).toMatch(/size \[-1\]/);
  });

  test('a small broadcast and a transposed view are read element by element', () => {
    const storage = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const bc = parseTorchCheckpoint(archive(checkpointPickle(oneTensor([3, 4], [0, 0], 6), [0x4e]), storage), 'bc.ckpt');
    expect([...bc.stateDict.get('w')!.data]).toEqual(new Array(12).fill(1));
    const tr = parseTorchCheckpoint(archive(checkpointPickle(oneTensor([3, 2], [1, 3], 6), [0x4e]), storage), 'tr.ckpt');
    expect([...tr.stateDict.get('w')!.data]).toEqual([1, 4, 2, 5, 3, 6]);
  });

  test('broadcasts are bounded for the whole file, and so is an overlapping view without a zero stride', () => {
    const e = refusal(() =>
      parseTorchCheckpoint(archive(checkpointPickle(oneTensor([2048, 1024], [1, 1], 4096), [0x4e]), new Uint8Array(16384)), 'overlap.ckpt'),
    );
    expect(e.message).toMatch(/overlap\.ckpt: weight w: shape \[2048, 1024\] with stride \[1, 1\] has 2097152 elements over a storage of 4096/);
    // Two views of 2^19 + 1 elements each: either alone is within the limit, both together are not.
    const half = 2 ** 19 + 1;
    const two = [...oneTensor([half], [0], 4), ...str('v'), ...oneTensor([half], [0], 4).slice(1 + str('w').length)];
    const e2 = refusal(() => parseTorchCheckpoint(archive(checkpointPickle(two, [0x4e])), 'two.ckpt'));
    expect(e2.message).toMatch(/two\.ckpt: weight v: .* a broadcast this large is not a weight/);
  });

  test('random bit flips and truncations: an InputError or a checkpoint, never another exception', () => {
    const good = archive(checkpointPickle(oneTensor([2, 2], [2, 1], 4), [0x4e]));
    let seed = 99;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let k = 0; k < 300; k++) {
      const b = k % 3 === 0 ? good.slice(0, Math.floor(rand() * good.length)) : good.slice();
      if (k % 3) for (let j = 0; j < 3; j++) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
      try {
        parseTorchCheckpoint(b, 'fuzz.ckpt');
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(InputError);
      }
    }
  });
});

describe('hostile safetensors', () => {
  const file = (header: unknown, data = new Uint8Array(16)) => {
    const h = enc.encode(JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    out.set(data, 8 + h.length);
    return out;
  };
  const cases: [string, unknown, RegExp][] = [
    ['a null entry', { w: null }, /tensor w has no description/],
    ['a header that is a list', [1, 2], /header is not a JSON object/],
    ['a string shape', { w: { dtype: 'F32', shape: 'big', data_offsets: [0, 16] } }, /shape "big"/],
    ['a negative dimension', { w: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, /shape \[-4\]/],
    ['offsets that are not numbers', { w: { dtype: 'F32', shape: [4], data_offsets: ['0', 16] } }, /data_offsets \["0",16\]/],
    ['offsets past the data', { w: { dtype: 'F32', shape: [1 << 30], data_offsets: [0, 2 ** 32] } }, /inconsistent data offsets/],
    ['an unknown dtype', { w: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, /unsupported dtype "I64"/],
  ];
  for (const [what, header, message] of cases) {
    test(what, () => {
      expect(refusal(() => parseSafetensors(file(header), 'bad.safetensors')).message).toMatch(message);
    });
  }
});
