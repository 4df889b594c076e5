import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine, importCheckpoint, loadModelPackage, ModelSessions, quantizePackage, weightsFromGraphs } from '../../main/engine/index.js';
import { buildGraphs } from '../../main/engine/model/build-graphs.js';
import { ENGINE_VERSION } from '../../main/engine/package/write-package.js';
import { onnxTypes } from '../../main/engine/onnx/schema.js';
import { activationParams, quantizeBias, quantizeWeights } from '../../main/engine/quant/int8.js';
import { runTaskOnEngine } from '../../main/engine/run-task.js';
import { readNifti } from '../../main/imaging/nifti/read.js';
import { sampleFiles } from '../../main/settings/paths.js';
import { FIXTURES } from './fixture-helpers.js';

describe('int8 quantisation parameters', () => {
  it('keep zero exact and round-trip values within half a step', () => {
    for (const r of [
      { min: -0.3, max: 2.1 },
      { min: 0.2, max: 5 },
      { min: -4, max: -1 },
    ]) {
      const { scale, zeroPoint } = activationParams(r);
      expect(zeroPoint).toBeGreaterThanOrEqual(0);
      expect(zeroPoint).toBeLessThanOrEqual(255);
      expect((0 - zeroPoint) * scale + zeroPoint * scale).toBe(0);
      for (const x of [Math.min(0, r.min), 0, Math.max(0, r.max)]) {
        const q = Math.min(255, Math.max(0, Math.round(x / scale) + zeroPoint));
        expect(Math.abs((q - zeroPoint) * scale - x)).toBeLessThanOrEqual(scale / 2 + 1e-6);
      }
    }
    const w = Float32Array.from([0.5, -1, 0.25, 0, 0.01, -0.02, 0.03, 0.04]);
    const { q, scales } = quantizeWeights(w, 2);
    expect(scales[0]).toBeCloseTo(1 / 127);
    expect(q[1]).toBe(-127);
    expect(Math.max(...Array.from(q.slice(4)).map(Math.abs))).toBe(127);
    w.forEach((x, i) => expect(Math.abs(q[i] * scales[i < 4 ? 0 : 1] - x)).toBeLessThanOrEqual(scales[i < 4 ? 0 : 1] / 2 + 1e-7));
    const b = quantizeBias(Float32Array.from([0.1, -0.2]), 0.01, scales);
    expect(b.scales[0]).toBeCloseTo(0.01 * scales[0]);
    expect(b.q[1] * b.scales[1]).toBeCloseTo(-0.2, 4);
  });
});

describe('model import --precision int8', () => {
  let tmp: string;
  let dir: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'nv-int8-'));
    dir = join(tmp, 'm');
    await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), dir, {
      grid: [32, 32, 32],
      precision: 'int8',
      fit: { method: 'foreground-box', threshold: 0.1, marginMm: 5 },
    });
  }, 120_000);
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('records the int8 variant in the manifest, with its graphs hashed and its calibration data named', async () => {
    const pkg = await loadModelPackage(dir);
    const v = pkg.manifest.int8!;
    expect(v.graphs.contextBranch.file).toBe('context_branch.int8.onnx');
    expect(v.calibration.data).toEqual(expect.arrayContaining(['colin27_t1.nii.gz', 'colin27_aal.nii.gz']));
    expect(v.calibration.cases.length).toBeGreaterThan(3);
    expect(pkg.int8Graphs?.targetEncoder.byteLength).toBe(v.graphs.targetEncoder.bytes);
  });

  it('builds graphs that ONNX Runtime fuses into QLinearConv, with every Conv quantised', async () => {
    const pkg = await loadModelPackage(dir);
    const optimized = join(tmp, 'optimized.onnx');
    const s = await ort.InferenceSession.create(pkg.int8Graphs!.contextBranch, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: optimized,
    });
    await s.release();
    const { model } = onnxTypes();
    const ops = (model.decode(await readFile(optimized)) as unknown as { graph: { node: { opType: string }[] } }).graph.node.map((n) => n.opType);
    const fp32Convs = (model.decode(pkg.graphs.contextBranch) as unknown as { graph: { node: { opType: string }[] } }).graph.node.filter(
      (n) => n.opType === 'Conv',
    ).length;
    expect(ops.filter((o) => o === 'QLinearConv').length).toBe(fp32Convs);
    expect(ops).not.toContain('Conv');
  });

  it('runs int8 on the CPU by default, fp32 when asked, and says which and why', async () => {
    const pkg = await loadModelPackage(dir);
    const auto = await ModelSessions.create(pkg, 'cpu');
    expect(auto.choice).toMatchObject({ provider: 'cpu', precision: 'int8' });
    await auto.release();
    const fp32 = await ModelSessions.create(pkg, 'auto', 'fp32');
    expect(fp32.choice).toMatchObject({ provider: 'cpu', precision: 'fp32', precisionReason: 'fp32 requested' });
    await fp32.release();
  });

  it('an fp32-only package refuses --precision int8 by name and runs fp32 under auto', async () => {
    const plain = join(tmp, 'plain');
    await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), plain, { grid: [32, 32, 32] });
    const pkg = await loadModelPackage(plain);
    expect(pkg.manifest.int8).toBeUndefined();
    await expect(ModelSessions.create(pkg, 'cpu', 'int8')).rejects.toThrow(/has no int8 variant/);
    const s = await ModelSessions.create(pkg, 'cpu');
    expect(s.choice).toMatchObject({ precision: 'fp32', precisionReason: 'the package has no int8 variant' });
    await s.release();
  });

  it('gives nearly the fp32 output on the sample scan', async () => {
    const files = sampleFiles();
    const t1 = await readNifti(files.t1);
    const outputs: Float32Array[] = [];
    for (const precision of ['fp32', 'int8'] as const) {
      const engine = await InferenceEngine.open(dir, 'cpu', precision);
      const r = await runTaskOnEngine(engine, { target: t1, structures: [{ task: 'generate', pairs: [{ image: t1, label: t1 }] }] });
      expect(r.choice.precision).toBe(precision);
      outputs.push(r.structures[0].volume.data as Float32Array);
      await engine.release();
    }
    const [a, b] = outputs;
    let lo = Infinity;
    let hi = -Infinity;
    let err = 0;
    for (let i = 0; i < a.length; i++) {
      lo = Math.min(lo, a[i]);
      hi = Math.max(hi, a[i]);
      err = Math.max(err, Math.abs(a[i] - b[i]));
    }
    // Random tiny weights are the hard case for 8 bits; a wrong scale or zero point is off by the whole range.
    expect(hi - lo).toBeGreaterThan(0);
    expect(err / (hi - lo)).toBeLessThan(0.15);
  }, 120_000);
});

describe('model quantize: an int8 variant for a package without its checkpoint', () => {
  let tmp: string;
  const opts = { grid: [32, 32, 32] as [number, number, number], fit: { method: 'foreground-box' as const, threshold: 0.1, marginMm: 5 } };
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'nv-quantize-'));
    await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(tmp, 'fp32'), opts);
    await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(tmp, 'imported8'), { ...opts, precision: 'int8' });
  }, 240_000);
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('reads the weights back from the graphs exactly: they rebuild every fp32 graph byte for byte', async () => {
    const pkg = await loadModelPackage(join(tmp, 'fp32'));
    const rebuilt = buildGraphs(pkg.manifest.architecture, weightsFromGraphs(pkg.graphs, pkg.dir), ENGINE_VERSION);
    for (const role of ['targetEncoder', 'contextBranch', 'targetDecoder'] as const) expect(Buffer.compare(rebuilt[role], pkg.graphs[role])).toBe(0);
  });

  it('makes the same int8 graphs as importing the checkpoint with --precision int8, and leaves the source as it was', async () => {
    const before = await readFile(join(tmp, 'fp32', 'manifest.json'), 'utf8');
    const m = await quantizePackage(join(tmp, 'fp32'), join(tmp, 'quantized8'));
    const imported = (await loadModelPackage(join(tmp, 'imported8'))).manifest.int8!;
    for (const role of ['targetEncoder', 'contextBranch', 'targetDecoder'] as const) expect(m.int8!.graphs[role].sha256).toBe(imported.graphs[role].sha256);
    expect(m.graphs).toEqual((await loadModelPackage(join(tmp, 'fp32'))).manifest.graphs);
    expect(await readFile(join(tmp, 'fp32', 'manifest.json'), 'utf8')).toBe(before);
    const loaded = await loadModelPackage(join(tmp, 'quantized8'));
    expect(loaded.int8Graphs).toBeDefined();
    await expect(quantizePackage(join(tmp, 'fp32'), join(tmp, 'quantized8'))).rejects.toThrow(/quantized8: exists: give another --out/);
    await expect(quantizePackage(join(tmp, 'quantized8'), join(tmp, 'again'))).rejects.toThrow(/quantized8: already has an int8 variant/);
  }, 120_000);

  it('refuses a package whose graph its own weights do not rebuild, naming the graph file', async () => {
    const src = join(tmp, 'fp32');
    const odd = join(tmp, 'odd');
    await cp(src, odd, { recursive: true });
    // Another builder's graph: same weights, a different producer string, hash updated so the package loads.
    const file = join(odd, 'target_decoder.onnx');
    const { model } = onnxTypes();
    const g = model.decode(await readFile(file)) as unknown as { producer_version: string };
    g.producer_version = '9.9.9';
    const bytes = model.encode(g).finish();
    await writeFile(file, bytes);
    const manifest = JSON.parse(await readFile(join(odd, 'manifest.json'), 'utf8'));
    manifest.graphs.targetDecoder.sha256 = createHash('sha256').update(bytes).digest('hex');
    manifest.graphs.targetDecoder.bytes = bytes.byteLength;
    await writeFile(join(odd, 'manifest.json'), JSON.stringify(manifest));
    await expect(quantizePackage(odd, join(tmp, 'odd8'))).rejects.toThrow(/target_decoder\.onnx: its weights do not rebuild this graph exactly/);
    await expect(stat(join(tmp, 'odd8'))).rejects.toThrow();
  });
});
