import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { inferArchitecture, parameterCount, readCheckpoint } from '../../main/engine/index.js';
import { FIXTURES } from './fixture-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'nv-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Minimal protocol-2 pickle bytes from opcode strings, for hostile-input tests. */
function pickleBytes(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...(typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p));
  return Uint8Array.from(out);
}

function writeZipCkpt(name: string, pkl: Uint8Array): string {
  const file = join(tmp, name);
  writeFileSync(file, zipSync({ 'archive/data.pkl': pkl }, { level: 0 }));
  return file;
}

describe('checkpoint readers', () => {
  it('reads the Lightning torch.save fixture and the safetensors fixture to identical weights', async () => {
    const ck = await readCheckpoint(join(FIXTURES, 'tiny.ckpt'));
    const st = await readCheckpoint(join(FIXTURES, 'tiny.safetensors'));
    expect(ck.format).toBe('torch-zip');
    expect(st.format).toBe('safetensors');
    expect([...ck.stateDict.keys()]).toEqual([...st.stateDict.keys()]);
    for (const [k, v] of ck.stateDict) {
      const w = st.stateDict.get(k)!;
      expect(v.dims, k).toEqual(w.dims);
      expect(Buffer.from(v.data.buffer).equals(Buffer.from(w.data.buffer)), k).toBe(true);
    }
    const arch = inferArchitecture(ck.stateDict, 'tiny.ckpt');
    expect(arch.channels).toEqual([4, 8, 16, 32]);
    expect(parameterCount(arch.channels)).toBe(276097);
    // Lightning's AttributeDict (a dict subclass, NEWOBJ + SETITEMS) and the callback/optimizer entries are read past.
    expect((ck.hyperParameters as { nb_inner_channels: number[] }).nb_inner_channels).toEqual([4, 8, 16, 32]);
    expect(ck.notes.join(' ')).toMatch(/pytorch_lightning\.utilities\.parsing\.AttributeDict/);
  });

  it('counts exactly the official parameter number for channels 32..512', () => {
    expect(parameterCount([32, 64, 128, 256, 512])).toBe(70_854_913);
  });

  it('refuses globals torch.save never writes, naming the file', async () => {
    const file = writeZipCkpt('evil.ckpt', pickleBytes([0x80, 2], 'cos\nsystem\n', 'X', [5, 0, 0, 0], 'echo!', [0x85], 'R.'));
    await expect(readCheckpoint(file)).rejects.toThrow(InputError);
    await expect(readCheckpoint(file)).rejects.toThrow(/evil\.ckpt: .*refusing global os\.system/);
  });

  it('rejects unknown opcodes, truncated files, and a missing file with InputError', async () => {
    const badOp = writeZipCkpt('badop.ckpt', pickleBytes([0x80, 2], 'i'));
    await expect(readCheckpoint(badOp)).rejects.toThrow(/badop\.ckpt: .*unsupported pickle opcode/);
    const trunc = join(tmp, 'trunc.safetensors');
    writeFileSync(trunc, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123]));
    await expect(readCheckpoint(trunc)).rejects.toThrow(/trunc\.safetensors: not a safetensors file/);
    await expect(readCheckpoint(join(tmp, 'absent.ckpt'))).rejects.toThrow(/absent\.ckpt: file not found/);
  });

  it('rejects a state dict that is not Neuroverse3D, naming the weight', async () => {
    const ck = await readCheckpoint(join(FIXTURES, 'tiny.safetensors'));
    ck.stateDict.delete('target_decoder.output_block.block.1.bias');
    expect(() => inferArchitecture(ck.stateDict, 'x.safetensors')).toThrow(/x\.safetensors: missing weight target_decoder\.output_block\.block\.1\.bias/);
  });
});
