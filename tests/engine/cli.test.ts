import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { modelCommand } from '../../main/cli/commands/model.js';
import { runCli } from '../../main/cli/neuroverse.js';
import { runCommand } from '../../main/cli/commands/run.js';
import type { CliCommand, CliIo } from '../../main/cli/command.js';
import { readNifti, writeNifti } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { FIXTURES } from './fixture-helpers.js';

const SAMPLE = fileURLToPath(new URL('../../resources/sample/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'nv-cli-'));
const pkg = join(tmp, 'tiny-model');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a command the way runCli does: InputError → exit 1 and one line naming the file. */
async function cli(cmd: CliCommand, argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false };
  try {
    return { code: await cmd.run(argv, io), out, err };
  } catch (e) {
    if (e instanceof InputError) {
      err.push(`neuroverse ${cmd.name}: ${e.message}`);
      return { code: e.code === 'usage' ? 2 : 1, out, err };
    }
    throw e;
  }
}

function volume(dims: number[], spacing: number[], fill: (x: number, y: number, z: number) => number): Volume {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let z = 0, o = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) data[o++] = fill(x, y, z);
  return {
    dims,
    spacing,
    affine: [
      [spacing[0], 0, 0, -10],
      [0, spacing[1], 0, -20],
      [0, 0, spacing[2], 5],
      [0, 0, 0, 1],
    ],
    data,
    slope: 1,
    intercept: 0,
    description: 'test',
    source: { kind: 'memory' },
  };
}

beforeAll(async () => {
  const r = await cli(modelCommand, ['import', join(FIXTURES, 'tiny.ckpt'), '--out', pkg, '--grid', '32']);
  expect(r.code, r.err.join('\n')).toBe(0);
  const img = volume([40, 36, 30], [1.2, 1, 1.5], (x, y, z) => 100 + x + 2 * y + ((x * y * z) % 7));
  const lab = volume([40, 36, 30], [1.2, 1, 1.5], (x, y, z) => ((x - 20) ** 2 + (y - 18) ** 2 + (z - 15) ** 2 < 64 ? 3 : x < 5 ? 9 : 0));
  await writeNifti(join(tmp, 'img.nii.gz'), img);
  await writeNifti(join(tmp, 'lab.nii.gz'), lab);
  await writeNifti(
    join(tmp, 'lab-small.nii.gz'),
    volume([20, 36, 30], [1.2, 1, 1.5], () => 1),
  );
});

describe('neuroverse model', () => {
  it('info --json shows the manifest written by import', async () => {
    const r = await cli(modelCommand, ['info', pkg, '--json']);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.out.join('\n'));
    expect(m.architecture.channels).toEqual([4, 8, 16, 32]);
    expect(m.grid).toEqual([32, 32, 32]);
    expect(m.provenance.sourceFormat).toBe('torch-zip');
    expect(Object.keys(m.graphs)).toEqual(['targetEncoder', 'contextBranch', 'targetDecoder']);
  });

  it('import --evaluation stores the card in the manifest; a card without a summary is refused', async () => {
    const card = { summary: '10 training steps; Dice 0.1 vs baseline 0.3', segmentation: { table: [{ structure: 'thalamus', model: 0.1, baseline: 0.3 }] } };
    writeFileSync(join(tmp, 'card.json'), JSON.stringify(card));
    const out = join(tmp, 'carded');
    const r = await cli(modelCommand, [
      'import',
      join(FIXTURES, 'tiny.safetensors'),
      '--out',
      out,
      '--grid',
      '32',
      '--tasks',
      'segment',
      '--evaluation',
      join(tmp, 'card.json'),
    ]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const m = JSON.parse((await cli(modelCommand, ['info', out, '--json'])).out.join('\n'));
    expect(m.evaluation).toEqual(card);
    expect(m.tasks).toEqual(['segment']);

    writeFileSync(join(tmp, 'no-summary.json'), JSON.stringify({ segmentation: {} }));
    const bad = await cli(modelCommand, [
      'import',
      join(FIXTURES, 'tiny.safetensors'),
      '--out',
      join(tmp, 'never'),
      '--evaluation',
      join(tmp, 'no-summary.json'),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.err.join('\n')).toMatch(/no-summary\.json.*summary/);
    const boxed = join(tmp, 'boxed');
    expect(
      (await cli(modelCommand, ['import', join(FIXTURES, 'tiny.safetensors'), '--out', boxed, '--grid', '32', '--fit', 'foreground-box:0.2:5'])).code,
    ).toBe(0);
    expect(JSON.parse((await cli(modelCommand, ['info', boxed, '--json'])).out.join('\n')).fit).toEqual({
      method: 'foreground-box',
      threshold: 0.2,
      marginMm: 5,
    });
    const manifestFile = join(boxed, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, fit: { method: 'foreground-box', threshold: 3, marginMm: 5 } }));
    const refused = await cli(modelCommand, ['info', boxed]);
    expect(refused.code).toBe(1);
    expect(refused.err.join('\n')).toMatch(/manifest\.json.*fit must be/);
    expect((await cli(modelCommand, ['import', join(FIXTURES, 'tiny.safetensors'), '--out', join(tmp, 'never'), '--fit', 'brain'])).code).toBe(2);
    // How the model expects aligned pairs: recorded in the manifest, checked when read back.
    const framed = join(tmp, 'framed');
    expect(
      (
        await cli(modelCommand, [
          'import',
          join(FIXTURES, 'tiny.safetensors'),
          '--out',
          framed,
          '--grid',
          '32',
          '--alignment',
          'affine',
          '--aligned-frame',
          'structure:12',
        ])
      ).code,
    ).toBe(0);
    const framedManifest = JSON.parse((await cli(modelCommand, ['info', framed, '--json'])).out.join('\n'));
    expect(framedManifest.alignment).toBe('affine');
    expect(framedManifest.alignedFrame).toEqual({ around: 'structure', marginMm: 12 });
    writeFileSync(join(framed, 'manifest.json'), JSON.stringify({ ...framedManifest, alignedFrame: { around: 'everything', marginMm: 1 } }));
    expect((await cli(modelCommand, ['info', framed])).err.join('\n')).toMatch(/manifest\.json.*alignedFrame must be/);
    expect((await cli(modelCommand, ['import', join(FIXTURES, 'tiny.safetensors'), '--out', join(tmp, 'never'), '--aligned-frame', 'brain'])).code).toBe(2);
    expect((await cli(modelCommand, ['import', join(FIXTURES, 'tiny.safetensors'), '--out', join(tmp, 'never'), '--alignment', 'rigid'])).code).toBe(2);
    // An existing package is replaced only with --force, and a failed import leaves it as it was.
    const userFile = join(framed, 'my-notes.txt');
    writeFileSync(userFile, 'keep me');
    const again = await cli(modelCommand, ['import', join(FIXTURES, 'tiny.safetensors'), '--out', framed, '--grid', '32']);
    expect(again.code).toBe(2);
    expect(again.err.join('\n')).toMatch(/framed: exists: give --force/);
    expect(readFileSync(userFile, 'utf8')).toBe('keep me');
    writeFileSync(join(tmp, 'broken.safetensors'), 'not a checkpoint');
    expect((await cli(modelCommand, ['import', join(tmp, 'broken.safetensors'), '--out', framed, '--force'])).code).toBe(1);
    expect(readFileSync(userFile, 'utf8')).toBe('keep me');
    expect((await cli(modelCommand, ['import', join(FIXTURES, 'tiny.safetensors'), '--out', framed, '--grid', '32', '--force'])).code).toBe(0);
    expect(existsSync(userFile)).toBe(false);
    expect(JSON.parse((await cli(modelCommand, ['info', framed, '--json'])).out.join('\n')).alignedFrame).toBeUndefined();
    expect(readdirSync(tmp).filter((n) => n.includes('.import-'))).toEqual([]);
    const badTask = await cli(modelCommand, ['import', join(FIXTURES, 'tiny.safetensors'), '--out', join(tmp, 'never'), '--tasks', 'segment,denoise']);
    expect(badTask.code).toBe(2);
    expect(badTask.err.join('\n')).toMatch(/denoise/);
  });

  it('a modified graph fails the sha256 check, naming the file', async () => {
    const bad = join(tmp, 'bad-model');
    await cli(modelCommand, ['import', join(FIXTURES, 'tiny.safetensors'), '--out', bad, '--grid', '32']);
    writeFileSync(join(bad, 'target_decoder.onnx'), 'tampered');
    const img = join(tmp, 'img.nii.gz');
    const r = await cli(runCommand, [
      '--align',
      'none',
      '--model',
      bad,
      '--target',
      img,
      '--context',
      `${img},${join(tmp, 'lab.nii.gz')}`,
      '--out',
      join(tmp, 'x.nii.gz'),
    ]);
    expect(r.code).toBe(1);
    expect(r.err[0]).toMatch(/target_decoder\.onnx: sha256 mismatch/);
  });
});

describe('neuroverse run', () => {
  it('segments a synthetic target and writes a 0/1 mask on the target grid (--json)', async () => {
    const img = join(tmp, 'img.nii.gz');
    const out = join(tmp, 'seg.nii.gz');
    const r = await cli(runCommand, [
      '--align',
      'none',
      '--model',
      pkg,
      '--target',
      img,
      '--context',
      `${img},${join(tmp, 'lab.nii.gz')}`,
      '--context',
      `${img},${join(tmp, 'lab.nii.gz')}`,
      '--label',
      '3',
      '--mini-context',
      '1',
      '--device',
      'cpu',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const j = JSON.parse(r.out[0]);
    expect(j).toMatchObject({ out, task: 'segment', contextSize: 2, miniContext: 1, device: 'cpu', provider: 'cpu' });
    expect(j.providerAttempts).toEqual([{ provider: 'cpu', outcome: 'used', reason: 'CPU execution provider' }]);
    for (const k of ['load', 'preprocess', 'targetEncoder', 'context', 'decoder', 'postprocess', 'total']) expect(typeof j.seconds[k]).toBe('number');
    expect(j.peakRssMB).toBeGreaterThan(0);
    const v = await readNifti(out);
    expect(v.dims.slice(0, 3)).toEqual([40, 36, 30]);
    expect(v.affine[0][3]).toBeCloseTo(-10, 4);
    expect(v.affine[2][2]).toBeCloseTo(1.5, 4);
    expect([...new Set(v.data)].every((x) => x === 0 || x === 1)).toBe(true);
  });

  it('without --model uses the first installed package, looked up like the app ($NEUROVERSE_MODELS first)', async () => {
    const saved = { models: process.env.NEUROVERSE_MODELS, data: process.env.NEUROVERSE_DATA_DIR };
    const models = join(tmp, 'models-lookup');
    const { cpSync } = await import('node:fs');
    cpSync(pkg, join(models, 'only-one'), { recursive: true });
    process.env.NEUROVERSE_MODELS = models;
    process.env.NEUROVERSE_DATA_DIR = join(tmp, 'data-lookup');
    try {
      const img = join(tmp, 'img.nii.gz');
      const r = await cli(runCommand, [
        '--method',
        'model',
        '--align',
        'none',
        '--target',
        img,
        '--context',
        `${img},${join(tmp, 'lab.nii.gz')}`,
        '--label',
        '3',
        '--device',
        'cpu',
        '--out',
        join(tmp, 'lookup.nii.gz'),
        '--json',
      ]);
      expect(r.code, r.err.join('\n')).toBe(0);
      expect(JSON.parse(r.out[0])).toMatchObject({ out: join(tmp, 'lookup.nii.gz'), model: join(models, 'only-one') });
    } finally {
      for (const [k, v] of [
        ['NEUROVERSE_MODELS', saved.models],
        ['NEUROVERSE_DATA_DIR', saved.data],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('runs on the bundled sample scan (Colin27 T1, AAL hippocampi as context label)', async () => {
    const out = join(tmp, 'sample-seg.nii.gz');
    const r = await cli(runCommand, [
      '--align',
      'none',
      '--model',
      pkg,
      '--target',
      join(SAMPLE, 'colin27_t1.nii.gz'),
      '--context',
      `${join(SAMPLE, 'colin27_t1_brain.nii.gz')},${join(SAMPLE, 'colin27_aal.nii.gz')}`,
      '--label',
      '37',
      '--label',
      '38',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.err.join('\n')).toBe(0);
    const v = await readNifti(out);
    expect(v.dims.slice(0, 3)).toEqual([181, 217, 181]);
  });

  it('generate task writes a float image', async () => {
    const img = join(tmp, 'img.nii.gz');
    const out = join(tmp, 'gen.nii.gz');
    const r = await cli(runCommand, ['--align', 'none', '--model', pkg, '--task', 'generate', '--target', img, '--context', `${img},${img}`, '--out', out]);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect((await readNifti(out)).data).toBeInstanceOf(Float32Array);
  });

  it('bad inputs exit ≠ 0 with one line naming the file and the problem', async () => {
    const img = join(tmp, 'img.nii.gz');
    const base = ['--target', img, '--out', join(tmp, 'bad.nii.gz')];
    const grid = await cli(runCommand, ['--align', 'none', '--model', pkg, ...base, '--context', `${img},${join(tmp, 'lab-small.nii.gz')}`]);
    expect(grid.code).toBe(1);
    expect(grid.err).toHaveLength(1);
    expect(grid.err[0]).toMatch(/lab-small\.nii\.gz: label grid 20×36×30 differs from its image grid 40×36×30/);

    const missing = await cli(runCommand, ['--align', 'none', '--model', pkg, ...base, '--context', `${join(tmp, 'nope.nii.gz')},${img}`]);
    expect(missing.code).toBe(1);
    expect(missing.err[0]).toMatch(/nope\.nii\.gz/);

    const noModel = await cli(runCommand, ['--align', 'none', '--model', tmp, ...base, '--context', `${img},${img}`]);
    expect(noModel.code).toBe(1);
    expect(noModel.err[0]).toMatch(new RegExp(`${tmp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a model folder \\(no manifest\\.json\\)`));

    const noLabel = await cli(runCommand, ['--align', 'none', '--model', pkg, ...base, '--context', `${img},${join(tmp, 'lab.nii.gz')}`, '--label', '77']);
    expect(noLabel.code).toBe(1);
    expect(noLabel.err[0]).toMatch(/lab\.nii\.gz: none of the label values 77/);

    const usage = await cli(runCommand, ['--align', 'none', '--model', pkg, ...base, '--context', img]);
    expect(usage.code).toBe(2);

    // This machine has no CUDA provider: asking for it explicitly is an error, not a silent fallback.
    const cuda = await cli(runCommand, ['--align', 'none', '--model', pkg, ...base, '--context', `${img},${join(tmp, 'lab.nii.gz')}`, '--device', 'cuda']);
    expect(cuda.code).toBe(1);
    expect(cuda.err[0]).toMatch(/tiny-model: --device cuda: no CUDA provider installed/);

    // WebGPU is in this build; without a GPU, ONNX Runtime's own refusal is reported (a GPU with a driver would run).
    const webgpu = await cli(runCommand, ['--align', 'none', '--model', pkg, ...base, '--context', `${img},${join(tmp, 'lab.nii.gz')}`, '--device', 'webgpu']);
    if (webgpu.code !== 0) expect(webgpu.err[0]).toMatch(/tiny-model: --device webgpu: no WebGPU adapter/);
  });
});

describe('registration in the neuroverse CLI', () => {
  it('dispatches model and run, printing InputErrors on one line with exit code 1', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), interactive: false };
    expect(await runCli(['model', 'info', pkg], io)).toBe(0);
    expect(out.join('\n')).toMatch(/channels 4-8-16-32/);
    const img = join(tmp, 'img.nii.gz');
    expect(
      await runCli(
        ['run', '--align', 'none', '--model', join(tmp, 'missing-model'), '--target', img, '--context', `${img},${img}`, '--out', join(tmp, 'o.nii.gz')],
        io,
      ),
    ).toBe(1);
    expect(err).toEqual([`neuroverse run: ${join(tmp, 'missing-model')}: model folder does not exist`]);
  });
});
