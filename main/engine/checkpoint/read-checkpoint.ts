import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InputError } from '../../common/errors.js';
import { inferArchitecture } from '../model/architecture.js';
import type { Architecture } from '../model/architecture.js';
import { stripNetPrefix } from '../model/state-dict.js';
import type { StateDict } from '../model/state-dict.js';
import { openSafetensors } from './safetensors.js';
import { openTorchCheckpoint } from './torch-checkpoint.js';

export interface Checkpoint {
  format: 'torch-zip' | 'safetensors';
  /** Read from the tensors' shapes and checked against every key and shape it implies. */
  architecture: Architecture;
  /** Keys in the bare official layout (`context_unet...`). */
  stateDict: StateDict;
  hyperParameters?: unknown;
  sha256: string;
  notes: string[];
}

/**
 * Reads a Lightning/torch `.ckpt`/`.pt` (zip) or a `.safetensors` file, told apart by content, not name. Every
 * tensor's shape is checked against the Neuroverse3D state dict its channel widths imply before any weight is
 * inflated or converted, so a file that is not that model is refused from its headers alone.
 */
export async function readCheckpoint(file: string): Promise<Checkpoint> {
  const buf = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(file, err.code === 'ENOENT' ? 'file not found' : `cannot read (${err.code ?? err.message})`);
  });
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    const ck = openTorchCheckpoint(bytes, file);
    const architecture = inferArchitecture(stripNetPrefix(ck.headers), file);
    const notes = ck.opaqueClasses.length > 0 ? [`ignored non-weight objects: ${ck.opaqueClasses.join(', ')}`] : [];
    return { format: 'torch-zip', architecture, stateDict: stripNetPrefix(ck.load()), hyperParameters: ck.hyperParameters, sha256, notes };
  }
  if (bytes[0] === 0x80) {
    throw new InputError(file, 'legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a current PyTorch');
  }
  const st = openSafetensors(bytes, file);
  const architecture = inferArchitecture(stripNetPrefix(st.headers), file);
  return { format: 'safetensors', architecture, stateDict: stripNetPrefix(st.load()), hyperParameters: st.metadata, sha256, notes: [] };
}
