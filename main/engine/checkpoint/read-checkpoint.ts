import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InputError } from '../../common/errors.js';
import { stripNetPrefix } from '../model/state-dict.js';
import type { StateDict } from '../model/state-dict.js';
import { parseSafetensors } from './safetensors.js';
import { parseTorchCheckpoint } from './torch-checkpoint.js';

export interface Checkpoint {
  format: 'torch-zip' | 'safetensors';
  /** Keys in the bare official layout (`context_unet...`). */
  stateDict: StateDict;
  hyperParameters?: unknown;
  sha256: string;
  notes: string[];
}

/** Reads a Lightning/torch `.ckpt`/`.pt` (zip) or a `.safetensors` file, told apart by content, not name. */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  const buf = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(file, err.code === 'ENOENT' ? 'file not found' : `cannot read (${err.code ?? err.message})`);
  });
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    const ck = parseTorchCheckpoint(bytes, file);
    const notes = ck.opaqueClasses.length > 0 ? [`ignored non-weight objects: ${ck.opaqueClasses.join(', ')}`] : [];
    return { format: 'torch-zip', stateDict: stripNetPrefix(ck.stateDict), hyperParameters: ck.hyperParameters, sha256, notes };
  }
  if (bytes[0] === 0x80) {
    throw new InputError(file, 'legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a current PyTorch');
  }
  const st = parseSafetensors(bytes, file);
  return { format: 'safetensors', stateDict: stripNetPrefix(st.tensors), hyperParameters: st.metadata, sha256, notes: [] };
}
