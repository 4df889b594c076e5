import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { createWorkstation } from '../../main/api/handlers.js';
import { ROOT } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const TINY = join(ROOT, 'tests/fixtures/engine/tiny.safetensors');

describe('importing a model from the app', () => {
  const dataDir = tempDir();
  const ws = createWorkstation({ mode: 'headless', version: 'test', dataDir, resources: join(dataDir, 'no-resources') });

  test('a checkpoint becomes a model package in the data folder, listed for runs', async () => {
    expect(await ws.api.listModels()).toEqual([]);
    const info = await ws.api.importModel({ name: 'tiny.safetensors', data: new Uint8Array(readFileSync(TINY)) });
    expect(info.id).toBe('tiny');
    expect(info.origin).toBe('data');
    expect(info.tasks).toContain('segment');
    expect((await ws.api.listModels()).map((m) => m.id)).toEqual(['tiny']);
    expect(readdirSync(join(dataDir, 'models')).sort()).toEqual(['tiny']);
    expect(readdirSync(join(dataDir, 'models', 'tiny')).sort()).toEqual(['context_branch.onnx', 'manifest.json', 'target_decoder.onnx', 'target_encoder.onnx']);
  });

  test('with precision int8 the package also gets calibrated int8 graphs, and lists both precisions', async () => {
    const info = await ws.api.importModel({ name: 'tiny8.safetensors', data: new Uint8Array(readFileSync(TINY)) }, { precision: 'int8' });
    expect(info.precisions).toEqual(['fp32', 'int8']);
    expect(
      readdirSync(join(dataDir, 'models', 'tiny8'))
        .filter((f) => f.endsWith('.int8.onnx'))
        .sort(),
    ).toEqual(['context_branch.int8.onnx', 'target_decoder.int8.onnx', 'target_encoder.int8.onnx']);
    expect((await ws.api.listModels()).find((m) => m.id === 'tiny')?.precisions).toEqual(['fp32']);
    const err = await ws.api.importModel({ name: 'x.safetensors', data: new Uint8Array(readFileSync(TINY)) }, { precision: 'int4' as 'int8' }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('x.safetensors: precision must be fp32 or int8 (got "int4")');
    expect(readdirSync(join(dataDir, 'models')).sort()).toEqual(['tiny', 'tiny8']);
  });

  test('the same name twice is refused and the installed model is kept', async () => {
    const err = await ws.api.importModel({ name: 'tiny.safetensors', data: new Uint8Array(readFileSync(TINY)) }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/^tiny\.safetensors: a model named "tiny" is already installed/);
    expect((await ws.api.listModels()).map((m) => m.id)).toEqual(['tiny', 'tiny8']);
  });

  test('a broken checkpoint is named in the error and leaves nothing behind', async () => {
    const bytes = readFileSync(TINY).subarray(0, 5000);
    const err = await ws.api.importModel({ name: 'broken.safetensors', data: new Uint8Array(bytes) }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.file).toBe('broken.safetensors');
    expect(readdirSync(join(dataDir, 'models')).sort()).toEqual(['tiny', 'tiny8']);
    await expect(ws.api.importModel({ name: 'notes.txt', data: new Uint8Array([1, 2, 3]) })).rejects.toThrow(/notes\.txt: not a model checkpoint/);
  });
});
