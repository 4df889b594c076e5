import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileProblem, InputError } from '../common/errors.js';

export interface WriteOptions {
  /** Replace an existing file. Off by default: a user's file is never overwritten by surprise. */
  overwrite?: boolean;
}

/**
 * Writes through a temporary file in the same folder, fsyncs, then renames, so a full disk or a crash
 * leaves either the old file or the complete new one — never a partial result under the final name.
 */
export async function writeFileAtomic(path: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
  if (!options.overwrite) {
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (exists) throw new InputError(path, 'already exists (choose another name or pass --force to replace it)');
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  let handle;
  try {
    handle = await open(tmp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new InputError(path, 'not written: the disk is full (nothing was changed)');
    if (code === 'ENOENT') throw new InputError(path, 'not written: the folder does not exist');
    throw new InputError(path, `not written: ${fileProblem(err)}`);
  }
}
