import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../main/api/errors.js';
import {
  ModelSessions,
  RunningMean,
  chooseMiniContextSize,
  decode,
  encodeContext,
  encodeTarget,
  estimatePeakBytes,
  inferArchitecture,
  loadModelPackage,
  memoryModel,
  parseSafetensors,
  partitionContext,
  releaseEncoding,
  writeModelPackage,
} from '../../main/engine/index.js';
import type { ContextProgress, GridPair, TargetEncoding } from '../../main/engine/index.js';
import { stripNetPrefix } from '../../main/engine/model/state-dict.js';
import { FIXTURES, loadIo, maxAbsDiff } from './fixture-helpers.js';
import type { IoFixture } from './fixture-helpers.js';

describe('context partition and running mean (Algorithm 1)', () => {
  it('partitions L pairs into ⌈L/l⌉ mini-contexts, the last one shorter', () => {
    expect(partitionContext(5, 2)).toEqual([[0, 1], [2, 3], [4]]);
    expect(partitionContext(3, 7)).toEqual([[0, 1, 2]]);
    expect(partitionContext(4, 1, [3, 1, 0, 2])).toEqual([[3], [1], [0], [2]]);
    expect(() => partitionContext(3, 1, [0, 0, 1])).toThrow(/permutation/);
    expect(() => partitionContext(3, 0)).toThrow(/positive/);
  });

  it('pair-count-weighted merging equals the plain mean for uneven mini-contexts', () => {
    const pairs = [1, 2, 4, 8, 16].map((v) => Float32Array.of(v, -v));
    const m = new RunningMean();
    const chunks = [[0, 1], [2, 3], [4]];
    for (const c of chunks) {
      const mean = new Float32Array(2);
      for (const i of c) for (let j = 0; j < 2; j++) mean[j] += pairs[i][j] / c.length;
      m.merge([mean], c.length);
    }
    expect(m.pairs).toBe(5);
    expect(m.result()[0][0]).toBeCloseTo(31 / 5, 5);
    expect(m.result()[0][1]).toBeCloseTo(-31 / 5, 5);
  });
});

describe('mini-context size from a memory budget', () => {
  const official = [32, 64, 128, 256, 512];
  it('grows with the budget, never exceeds L, and is at least 1', () => {
    const g = [128, 128, 128];
    expect(chooseMiniContextSize(official, g, 8, 1e9)).toBe(1);
    const l16 = chooseMiniContextSize(official, g, 32, 16 * 2 ** 30);
    const l32 = chooseMiniContextSize(official, g, 32, 32 * 2 ** 30);
    expect(l16).toBeGreaterThanOrEqual(1);
    expect(l32).toBeGreaterThan(l16);
    expect(chooseMiniContextSize(official, g, 3, 1e15)).toBe(3);
    expect(estimatePeakBytes(memoryModel(official, g), l32)).toBeLessThanOrEqual(32 * 2 ** 30);
  });
});

describe('APSP through ONNX Runtime (tiny fixture model)', () => {
  let dir: string;
  let sessions: ModelSessions;
  let fx: IoFixture;
  let pairs5: GridPair[];
  let enc: TargetEncoding;

  beforeAll(async () => {
    const file = join(FIXTURES, 'tiny.safetensors');
    const sd = stripNetPrefix(parseSafetensors(readFileSync(file), file).tensors);
    dir = mkdtempSync(join(tmpdir(), 'nv-apsp-'));
    fx = loadIo(join(FIXTURES, 'tiny-io.safetensors'));
    await writeModelPackage(dir, inferArchitecture(sd, file), sd, {
      name: 'tiny',
      grid: fx.grid,
      provenance: { source: 'tiny.safetensors', sourceFormat: 'safetensors', sourceSha256: '0'.repeat(64) },
    });
    sessions = await ModelSessions.create(await loadModelPackage(dir), 'cpu');
    // Five distinct pairs: the three fixture pairs plus two with mirrored labels / inverted images.
    const flip = (a: Float32Array) => a.slice().reverse();
    pairs5 = [
      ...fx.pairs,
      { image: flip(fx.pairs[0].image), label: flip(fx.pairs[1].label) },
      { image: fx.pairs[2].image.map((x) => 1 - x), label: fx.pairs[0].label },
    ];
    enc = await encodeTarget(sessions, fx.target, fx.grid);
  });

  afterAll(async () => {
    if (enc) releaseEncoding(enc);
    await sessions?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('l = 1, 2, 3, 4, 5 (= L) and shuffled orders give the same prediction for L = 5', async () => {
    const ref = await decode(sessions, enc, await encodeContext(sessions, enc, pairs5, { miniContext: 5 }));
    const orders = [undefined, [4, 3, 2, 1, 0], [2, 4, 0, 3, 1]];
    for (const l of [1, 2, 3, 4]) {
      for (const order of orders) {
        const out = await decode(sessions, enc, await encodeContext(sessions, enc, pairs5, { miniContext: l, order }));
        expect(maxAbsDiff(out, ref), `l=${l} order=${order}`).toBeLessThanOrEqual(1e-5);
      }
    }
  });

  it('the context actually matters: a different label set changes the prediction', async () => {
    const a = await decode(sessions, enc, await encodeContext(sessions, enc, fx.pairs, { miniContext: 3 }));
    const b = await decode(sessions, enc, await encodeContext(sessions, enc, pairs5.slice(3), { miniContext: 2 }));
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-3);
  });

  it('reports progress once per mini-context', async () => {
    const events: ContextProgress[] = [];
    await encodeContext(sessions, enc, pairs5, { miniContext: 2, onProgress: (p) => events.push(p) });
    expect(events).toEqual([
      { miniContext: 1, miniContexts: 3, pairsDone: 2, pairsTotal: 5 },
      { miniContext: 2, miniContexts: 3, pairsDone: 4, pairsTotal: 5 },
      { miniContext: 3, miniContexts: 3, pairsDone: 5, pairsTotal: 5 },
    ]);
  });

  it('cancels between mini-contexts', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    const run = encodeContext(sessions, enc, pairs5, {
      miniContext: 1,
      signal: ac.signal,
      onProgress: (p) => {
        seen.push(p.miniContext);
        if (p.miniContext === 2) ac.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(seen).toEqual([1, 2]);
  });

  it('reusing one target encoding for two structures equals two separate runs', async () => {
    const s1 = fx.pairs;
    const s2 = pairs5.slice(2);
    const shared = [
      await decode(sessions, enc, await encodeContext(sessions, enc, s1, { miniContext: 2 })),
      await decode(sessions, enc, await encodeContext(sessions, enc, s2, { miniContext: 2 })),
    ];
    for (const [i, s] of [s1, s2].entries()) {
      const fresh = await encodeTarget(sessions, fx.target, fx.grid);
      const out = await decode(sessions, fresh, await encodeContext(sessions, fresh, s, { miniContext: 2 }));
      releaseEncoding(fresh);
      expect(maxAbsDiff(out, shared[i])).toBeLessThanOrEqual(1e-6);
    }
  });
});
