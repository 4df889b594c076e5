import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../common/errors.js';
import type { FileBlob } from '../common/file-blob.js';
import { importCheckpoint } from '../engine/index.js';
import type { ProgressFn } from '../jobs/jobs.js';
import type { FoundModel } from './models.js';
import type { ModelInfo } from './types.js';

export interface ModelImportPlaces {
  /** The package goes to <dataDir>/models. */
  dataDir: string;
  /** The models the app lists, where the new package is read back from. */
  models(): Promise<FoundModel[]>;
}

/**
 * Installs a checkpoint (official Lightning .ckpt or our safetensors) as a model package in
 * <dataDir>/models, converted in-process: users never need Python. The package is built in a hidden
 * folder and renamed into place, so a failed import leaves no half-installed model.
 */
export async function importModel(o: ModelImportPlaces, file: FileBlob, progress?: ProgressFn, precision: 'fp32' | 'int8' = 'fp32'): Promise<ModelInfo> {
  // The options arrive over a transport: checked here, not trusted from the type.
  if (precision !== 'fp32' && precision !== 'int8') throw new InputError(file.name, `precision must be fp32 or int8 (got "${String(precision)}")`, 'usage');
  const ext = /\.(ckpt|pt|pth|safetensors)$/i.exec(file.name)?.[0];
  if (!ext) throw new InputError(file.name, 'not a model checkpoint (expected .ckpt, .pt, .pth or .safetensors)');
  const id =
    file.name
      .slice(0, -ext.length)
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/^[._]+/, '') || 'model';
  const root = join(o.dataDir, 'models');
  const final = join(root, id);
  if (
    await stat(final).then(
      () => true,
      () => false,
    )
  ) {
    throw new InputError(file.name, `a model named "${id}" is already installed (${final}); rename the file to install it beside`);
  }
  await mkdir(root, { recursive: true });
  const work = await mkdtemp(join(root, '.import-'));
  try {
    const source = join(work, `checkpoint${ext}`);
    await writeFile(source, file.data);
    progress?.(
      'import-model',
      null,
      `Converting ${file.name} to ONNX graphs${precision === 'int8' ? ' (and an int8 variant, calibrated on the bundled sample)' : ''}`,
    );
    await importCheckpoint(source, join(work, 'package'), { name: id, precision }).catch((err) => {
      // Errors name the temporary copy; the user knows the file by its own name.
      if (err instanceof InputError) throw new InputError(file.name, err.problem, err.code);
      throw err;
    });
    await rename(join(work, 'package'), final);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const found = (await o.models()).find((m) => m.dir === final);
  if (!found) throw new InputError(file.name, 'was converted but the package cannot be read back');
  const { dir: _dir, ...info } = found;
  return info;
}
