import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CancelledError } from '../../main/api/errors.js';
import { InferenceEngine, importCheckpoint } from '../../main/engine/index.js';
import type { StructureInput } from '../../main/engine/index.js';
import { reorientTo } from '../../main/imaging/index.js';
import type { Volume } from '../../main/imaging/volume.js';
import { testVolume } from '../helpers/volumes.js';
import { FIXTURES } from './fixture-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'nv-engine-'));
let engine: InferenceEngine;

function vol(dims: number[], f: (x: number, y: number, z: number) => number): Volume {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let z = 0, o = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) data[o++] = f(x, y, z);
  return testVolume(dims, data, '');
}

const img = (s: number) => vol([30, 34, 28], (x, y, z) => Math.sin(x / (3 + s)) + Math.cos(y / 4) + z / 20);
const ball = (cx: number, r: number) => vol([30, 34, 28], (x, y, z) => ((x - cx) ** 2 + (y - 17) ** 2 + (z - 14) ** 2 < r * r ? 1 : 0));

beforeAll(async () => {
  await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(tmp, 'm'), { grid: [32, 32, 32] });
  engine = await InferenceEngine.open(join(tmp, 'm'), 'auto');
});

afterAll(async () => {
  await engine?.release();
  rmSync(tmp, { recursive: true, force: true });
});

describe('InferenceEngine', () => {
  it('reports why it chose the CPU on a machine without the CUDA provider', () => {
    expect(engine.choice.provider).toBe('cpu');
    expect(engine.choice.reason).toMatch(/fell back to CPU: .*no CUDA provider installed/);
  });

  it('runs several structures on one target with a single target-encoder call, same results as separate runs', async () => {
    const target = engine.prepareTarget(img(0));
    const a: StructureInput = {
      task: 'segment',
      pairs: [
        { image: img(1), label: ball(10, 6) },
        { image: img(2), label: ball(12, 5) },
      ],
    };
    const b: StructureInput = { task: 'segment', pairs: [{ image: img(1), label: ball(20, 7) }] };
    const encoder = (engine as unknown as { sessions: { encoder: { run: (...x: unknown[]) => unknown } } }).sessions.encoder;
    const spy = vi.spyOn(encoder, 'run');
    const both = await engine.run(target, [a, b], { miniContext: 1 });
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    const onlyB = await engine.run(target, [b], { miniContext: 1 });
    expect(both.structures).toHaveLength(2);
    expect(Buffer.from(both.structures[1].volume.data.buffer).equals(Buffer.from(onlyB.structures[0].volume.data.buffer))).toBe(true);
    expect(both.structures[0].volume.dims).toEqual([30, 34, 28]);
  });

  it('chooses l from a memory budget when asked for auto', async () => {
    const target = engine.prepareTarget(img(0));
    const s: StructureInput = { task: 'segment', pairs: [1, 2, 3].map((k) => ({ image: img(k), label: ball(8 + 3 * k, 5) })) };
    const small = await engine.run(target, [s], { miniContext: 'auto', memoryBudgetBytes: 1 });
    const large = await engine.run(target, [s], { miniContext: 'auto', memoryBudgetBytes: 1e12 });
    expect(small.structures[0].miniContext).toBe(1);
    expect(large.structures[0].miniContext).toBe(3);
  });

  it('stops with CancelledError when the signal fires between mini-contexts', async () => {
    const target = engine.prepareTarget(img(0));
    const s: StructureInput = { task: 'segment', pairs: [1, 2, 3].map((k) => ({ image: img(k), label: ball(8 + 3 * k, 5) })) };
    const ac = new AbortController();
    const progress: number[] = [];
    await expect(
      engine.run(target, [s], { miniContext: 1, signal: ac.signal, onProgress: (p) => (progress.push(p.pairsDone), ac.abort()) }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(progress).toEqual([1]);
  });

  it('a package naming an orientation reorients target and pairs before the fit and maps the result back', async () => {
    // The same weights, once with orientation "LIA" in the manifest; the plain package fed LIA-reoriented
    // volumes must give the same output, read back in the target's own (RAS) voxel order. A generation task:
    // its output is continuous (a random-weight mask could be empty and prove nothing).
    await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(tmp, 'lia'), { grid: [32, 32, 32], orientation: 'LIA' });
    const oriented = await InferenceEngine.open(join(tmp, 'lia'), 'cpu');
    try {
      const pairs = [
        { image: img(1), label: ball(10, 6) },
        { image: img(2), label: ball(14, 7) },
      ];
      const viaManifest = await oriented.run(oriented.prepareTarget(img(0)), [{ task: 'generate', pairs }], { miniContext: 1 });
      const lia = (v: Volume) => reorientTo(v, 'LIA');
      const byHand = await engine.run(
        engine.prepareTarget(lia(img(0))),
        [{ pairs: pairs.map((p) => ({ image: lia(p.image), label: lia(p.label) })), task: 'generate' }],
        { miniContext: 1 },
      );
      const result = viaManifest.structures[0].volume;
      expect(result.dims).toEqual([30, 34, 28]);
      expect(result.affine).toEqual(img(0).affine);
      const expected = reorientTo(byHand.structures[0].volume, 'RAS');
      expect(Array.from(result.data)).toEqual(Array.from(expected.data));
      expect(new Set(result.data).size).toBeGreaterThan(100);
    } finally {
      await oriented.release();
    }
  });
});
