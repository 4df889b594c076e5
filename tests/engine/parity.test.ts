import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ModelSessions,
  buildGraphs,
  decode,
  encodeContext,
  encodeTarget,
  inferArchitecture,
  loadModelPackage,
  parseSafetensors,
  releaseEncoding,
  writeModelPackage,
} from '../../main/engine/index.js';
import { stripNetPrefix } from '../../main/engine/model/state-dict.js';
import { FIXTURES, loadIo, maxAbsDiff } from './fixture-helpers.js';
import type { IoFixture } from './fixture-helpers.js';

let dir: string;
let sessions: ModelSessions;
let fx: IoFixture;

beforeAll(async () => {
  const file = join(FIXTURES, 'tiny.safetensors');
  const sd = stripNetPrefix(parseSafetensors(readFileSync(file), file).tensors);
  const arch = inferArchitecture(sd, file);
  dir = mkdtempSync(join(tmpdir(), 'nv-engine-'));
  fx = loadIo(join(FIXTURES, 'tiny-io.safetensors'));
  await writeModelPackage(dir, arch, sd, {
    name: 'tiny',
    grid: fx.grid,
    provenance: { source: 'tiny.safetensors', sourceFormat: 'safetensors', sourceSha256: '0'.repeat(64) },
  });
  sessions = await ModelSessions.create(await loadModelPackage(dir), 'cpu');
});

afterAll(async () => {
  await sessions?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function predict(l: number, order?: number[]): Promise<Float32Array> {
  const enc = await encodeTarget(sessions, fx.target, fx.grid);
  const means = await encodeContext(sessions, enc, fx.pairs, { miniContext: l, order });
  const out = await decode(sessions, enc, means);
  releaseEncoding(enc);
  return out;
}

describe('ONNX pipeline vs PyTorch reference (channels 4-8-16-32, 32³, L = 3)', () => {
  it('matches the float64 PyTorch forward within 1e-4', async () => {
    const out = await predict(3);
    const d = maxAbsDiff(out, fx.pred);
    console.log(`parity: max abs diff ${d.toExponential(3)} (output std ≈ 0.1)`);
    expect(d).toBeLessThanOrEqual(1e-4);
  });

  it('the pure-ONNX (Erf) GELU variant matches too', async () => {
    const file = join(FIXTURES, 'tiny.safetensors');
    const sd = stripNetPrefix(parseSafetensors(readFileSync(file), file).tensors);
    const graphs = buildGraphs(inferArchitecture(sd, file), sd, 'test', 'portable');
    const pkg = await loadModelPackage(dir);
    for (const role of Object.keys(graphs) as (keyof typeof graphs)[]) pkg.graphs[role] = graphs[role];
    const s = await ModelSessions.create(pkg, 'cpu');
    try {
      const enc = await encodeTarget(s, fx.target, fx.grid);
      const out = await decode(s, enc, await encodeContext(s, enc, fx.pairs, { miniContext: 2 }));
      releaseEncoding(enc);
      expect(maxAbsDiff(out, fx.pred)).toBeLessThanOrEqual(1e-4);
    } finally {
      await s.release();
    }
  });

  it('gives the same output for l = 1, 2, 3 and shuffled pair orders', async () => {
    const ref = await predict(3);
    for (const [l, order] of [
      [1, undefined],
      [2, undefined],
      [1, [2, 0, 1]],
      [2, [1, 2, 0]],
      [3, [2, 1, 0]],
    ] as [number, number[] | undefined][]) {
      const d = maxAbsDiff(await predict(l, order), ref);
      expect(d, `l=${l} order=${order}`).toBeLessThanOrEqual(1e-5);
    }
  });
});
