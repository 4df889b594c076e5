import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../main/api/errors.js';
import { InferenceEngine, importCheckpoint } from '../../main/engine/index.js';
import type { LazyContextPair } from '../../main/engine/index.js';
import { denseLayout, resampleFrom } from '../../main/engine/processing/grid-fit.js';
import { accumulateTile, axisStarts, tileCount, tileLayout, tilesOf } from '../../main/engine/processing/tiles.js';
import type { VoxelBox } from '../../main/engine/processing/foreground-box.js';
import { runTilesOnEngine } from '../../main/engine/run-tiles.js';
import { volumeOnGrid, type Volume } from '../../main/imaging/volume.js';
import { writeNifti } from '../../main/imaging/index.js';
import { inProcessRunner } from '../../main/pipeline/model-runner.js';
import { runPipeline } from '../../main/pipeline/run.js';
import { FIXTURES } from './fixture-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'nv-tiles-test-'));
let engine: InferenceEngine;

const DIMS = [40, 36, 30];
const SPACING = [1.2, 1, 1.5];

function vol(f: (x: number, y: number, z: number) => number, dims = DIMS, spacing = SPACING): Volume {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let z = 0, o = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) data[o++] = f(x, y, z);
  const affine = [
    [spacing[0], 0, 0, -10],
    [0, spacing[1], 0, -20],
    [0, 0, spacing[2], 5],
    [0, 0, 0, 1],
  ];
  return volumeOnGrid({ dims, spacing, affine }, data, 'test');
}

/** A head-like image in scanner units (hundreds), with texture; `gain`/`shift` change only its units. */
const head = (seed: number, gain = 1, shift = 0) =>
  vol((x, y, z) => {
    const inside = ((x - 20) / 16) ** 2 + ((y - 18) / 14) ** 2 + ((z - 15) / 12) ** 2 < 1;
    return shift + gain * (inside ? 300 + 80 * Math.sin((x + seed) / 3) * Math.cos(y / 4) + ((x * y * z + seed) % 11) : (x + y + seed) % 5);
  });

function pairsOf(images: [Volume, Volume][]): LazyContextPair[] {
  return images.map(([image, label], i) => ({ imageFile: `pair-${i}-image`, labelFile: `pair-${i}-label`, load: async () => ({ image, label }) }));
}

const BOX: VoxelBox = { lo: [4, 3, 2], hi: [35, 32, 27] };

beforeAll(async () => {
  await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(tmp, 'm'), { grid: [16, 16, 16] });
  engine = await InferenceEngine.open(join(tmp, 'm'), 'cpu');
});

afterAll(async () => {
  await engine?.release();
  rmSync(tmp, { recursive: true, force: true });
});

describe('tile layout and blending', () => {
  it('spreads windows from the start to the end of an axis, no further apart than size − overlap', () => {
    expect(axisStarts(40, 16, 4)).toEqual([0, 12, 24]);
    const s = axisStarts(100, 16, 4);
    expect(s[0]).toBe(0);
    expect(s.at(-1)).toBe(100 - 16);
    for (let k = 1; k < s.length; k++) expect(s[k] - s[k - 1]).toBeLessThanOrEqual(12);
    // Smaller than one window: one window, centred (the grid pads around it).
    expect(axisStarts(10, 16, 4)).toEqual([-3]);
  });

  it('model voxels of the finest native spacing by default, a lattice covering the box', () => {
    const l = tileLayout(DIMS, SPACING, [16, 16, 16], BOX);
    expect(l.modelVoxelMm).toBe(1);
    expect(l.scale).toEqual([1 / 1.2, 1, 1 / 1.5]);
    // x: 32 voxels of 1.2 mm = 38.4 mm → 39 lattice voxels of 1 mm.
    expect(l.lattice).toEqual([39, 30, 39]);
    expect(tileCount(l)).toBe([...tilesOf(l)].length);
  });

  it('a small grid over a large head gets coarser voxels rather than an unbounded number of tiles', () => {
    const big: VoxelBox = { lo: [10, 10, 10], hi: [169, 209, 179] };
    const fine = tileLayout([181, 217, 181], [1, 1, 1], [32, 32, 32], big, { voxelMm: 1 });
    expect(tileCount(fine)).toBeGreaterThan(128);
    const capped = tileLayout([181, 217, 181], [1, 1, 1], [32, 32, 32], big);
    expect(tileCount(capped)).toBeLessThanOrEqual(128);
    expect(capped.modelVoxelMm).toBeGreaterThan(1);
    expect(capped.modelVoxelMm).toBeLessThan(2);
    // A 64³ grid over the same head stays at the native 1 mm.
    expect(tileLayout([181, 217, 181], [1, 1, 1], [64, 64, 64], big).modelVoxelMm).toBe(1);
  });

  it('raw blending weights sum to one where neighbours overlap by the ramp, and tiles that return their input give the input back', () => {
    // 1 mm voxels, a box of 40 along x and z: windows 0, 12, 24 overlapping by exactly the ramp (4).
    const dims = [48, 20, 44];
    const box: VoxelBox = { lo: [3, 2, 1], hi: [42, 17, 40] };
    const l = tileLayout(dims, [1, 1, 1], [16, 16, 16], box, { overlap: 4 });
    expect(l.starts[0]).toEqual([0, 12, 24]);
    expect(l.starts[2]).toEqual([0, 12, 24]);
    const f = (x: number, y: number, z: number) => Math.sin(x / 5) + y * 0.1 + Math.cos(z / 7);
    const data = new Float32Array(dims[0] * dims[1] * dims[2]);
    for (let z = 0, o = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) data[o++] = f(x, y, z);
    const n = (box.hi[0] - box.lo[0] + 1) * (box.hi[1] - box.lo[1] + 1) * (box.hi[2] - box.lo[2] + 1);
    const sum = new Float32Array(n);
    const weight = new Float32Array(n);
    for (const tile of tilesOf(l)) {
      const own = resampleFrom(data, dims, denseLayout(dims), l.grid, tile.fit.scale, tile.fit.offset, 'linear');
      accumulateTile(l, tile, own, box, sum, weight);
    }
    let worstWeight = 0;
    let worstValue = 0;
    for (let z = box.lo[2], r = 0; z <= box.hi[2]; z++)
      for (let y = box.lo[1]; y <= box.hi[1]; y++)
        for (let x = box.lo[0]; x <= box.hi[0]; x++, r++) {
          worstWeight = Math.max(worstWeight, Math.abs(weight[r] - 1));
          worstValue = Math.max(worstValue, Math.abs(sum[r] / weight[r] - f(x, y, z)));
        }
    expect(worstWeight).toBeLessThan(1e-6);
    expect(worstValue).toBeLessThan(1e-5);
  });

  it('where the last window overlaps more, every box voxel still has weight and the blend gives the input back', () => {
    const l = tileLayout(DIMS, SPACING, [16, 16, 16], BOX, { overlap: 4 });
    expect(l.starts.some((s) => s.length > 2)).toBe(true);
    // A linear ramp: trilinear sampling onto the finer lattice and back reproduces it exactly, so any tile
    // placed or weighted wrongly shows.
    const data = vol((x, y, z) => 3 * x - 2 * y + 5 * z + 7).data as Float32Array;
    const n = 32 * 30 * 26;
    const sum = new Float32Array(n);
    const weight = new Float32Array(n);
    for (const tile of tilesOf(l))
      accumulateTile(l, tile, resampleFrom(data, DIMS, denseLayout(DIMS), l.grid, tile.fit.scale, tile.fit.offset, 'linear'), BOX, sum, weight);
    let worst = 0;
    let least = Infinity;
    for (let z = BOX.lo[2], r = 0; z <= BOX.hi[2]; z++)
      for (let y = BOX.lo[1]; y <= BOX.hi[1]; y++)
        for (let x = BOX.lo[0]; x <= BOX.hi[0]; x++, r++) {
          least = Math.min(least, weight[r]);
          worst = Math.max(worst, Math.abs(sum[r] / weight[r] - data[x + 40 * (y + 36 * z)]));
        }
    expect(least).toBeGreaterThan(0);
    // Values 0–270: what is left is a tile's outer half voxel, clamped to its edge value, at a weight under 1 %.
    expect(worst).toBeLessThan(2e-2);
  });
});

describe('generation in tiles with the tiny model', () => {
  it("keeps the target's grid, restores inside the box in the target's units, keeps the input outside", async () => {
    const target = head(0);
    const pairs = pairsOf([
      [head(1), head(1)],
      [head(2), head(2)],
    ]);
    const progress: { tile?: number; tiles?: number }[] = [];
    const r = await runTilesOnEngine(engine, { target, pairs, box: BOX, miniContext: 1, scratch: tmp, onProgress: (p) => progress.push(p) });
    const out = r.structures[0].volume;
    expect(out.dims).toEqual(DIMS);
    expect(out.spacing).toEqual(SPACING);
    expect(out.affine).toEqual(target.affine);
    expect(out.data).toBeInstanceOf(Float32Array);
    const tiles = progress[0].tiles!;
    expect(tiles).toBe(tileCount(tileLayout(DIMS, SPACING, [16, 16, 16], BOX)));
    // One progress event per mini-context (two pairs, one at a time) and tile.
    expect(progress).toHaveLength(2 * tiles);
    expect(progress.at(-1)!.tile).toBe(tiles);
    let changedInside = 0;
    for (let z = 0, i = 0; z < DIMS[2]; z++)
      for (let y = 0; y < DIMS[1]; y++)
        for (let x = 0; x < DIMS[0]; x++, i++) {
          const inBox = x >= BOX.lo[0] && x <= BOX.hi[0] && y >= BOX.lo[1] && y <= BOX.hi[1] && z >= BOX.lo[2] && z <= BOX.hi[2];
          if (!inBox) expect(out.data[i]).toBe(target.data[i]);
          else if (Math.abs(out.data[i] - target.data[i]) > 1e-3) changedInside++;
        }
    expect(changedInside).toBeGreaterThan(0);
    // The pairs' tiles lived in the scratch folder only while the run lasted.
    expect(readdirSync(tmp).filter((f) => f.startsWith('nv-tiles-'))).toEqual([]);
  });

  it("answers in the target's intensity units: the same head in other units gives the same answer in those units", async () => {
    const pairs = pairsOf([
      [head(1), head(3)],
      [head(2), head(4)],
    ]);
    const a = (await runTilesOnEngine(engine, { target: head(0), pairs, box: BOX, miniContext: 2 })).structures[0].volume.data;
    const b = (await runTilesOnEngine(engine, { target: head(0, 10, 50), pairs, box: BOX, miniContext: 2 })).structures[0].volume.data;
    let worst = 0;
    let maxA = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(b[i] - (10 * a[i] + 50)));
      maxA = Math.max(maxA, a[i]);
    }
    expect(worst).toBeLessThan(1e-2);
    // Not the model's [0, 1]: the head's hundreds.
    expect(maxA).toBeGreaterThan(100);
  });

  it('refuses a pair that is not on the target grid, naming it and the way out (alignment)', async () => {
    const off = vol(() => 1, [30, 36, 30]);
    const pairs = pairsOf([[off, off]]);
    const err = await runTilesOnEngine(engine, { target: head(0), pairs, box: BOX }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/pair-0-image: context pair 1 \(30×36×30\) is not on the target's grid \(40×36×30\).*--align affine/);
  });
});

describe('the guard of generation in tiles', () => {
  it('restores each example from the others and scores it against its own target', async () => {
    // Examples whose "restored" image is their input: the input is already perfect there, so a model that
    // changes anything makes every example worse.
    const pairs = pairsOf([
      [head(1), head(1)],
      [head(2), head(2)],
      [head(3), head(3)],
    ]);
    const r = await runTilesOnEngine(engine, { target: head(0), pairs, box: BOX, miniContext: 2 });
    expect(r.tiled.guardTiles).toBe(2);
    expect(r.tiled.examples.map((e) => e.pair)).toEqual([0, 1, 2]);
    for (const e of r.tiled.examples) {
      expect(e.inputPsnr).toBe(Infinity);
      expect(Number.isFinite(e.outputPsnr)).toBe(true);
    }
    const none = await runTilesOnEngine(engine, { target: head(0), pairs, box: BOX, miniContext: 2, guardTiles: 0 });
    expect(none.tiled.examples).toEqual([]);
    // The guard does not change the answer.
    expect(Buffer.from(none.structures[0].volume.data.buffer).equals(Buffer.from(r.structures[0].volume.data.buffer))).toBe(true);
  });

  it('a model run that makes its examples worse says so (QC warning restoration-harms) and still writes its result', async () => {
    const dir = mkdtempSync(join(tmp, 'pipe-'));
    const files = await Promise.all(
      [1, 2].map(async (s) => {
        const f = join(dir, `ex-${s}.nii`);
        await writeNifti(f, head(s));
        return { imageFile: f, labelFile: f };
      }),
    );
    const target = head(0);
    const r = await runPipeline({
      target,
      structures: [{ task: 'generate', pairs: files }],
      align: 'none',
      method: 'model',
      model: inProcessRunner(engine),
      miniContext: 1,
    });
    expect(r.restoration?.method).toBe('model');
    expect(r.restoration?.examples.map((e) => e.name)).toEqual(['ex-1.nii', 'ex-2.nii']);
    expect(r.restoration?.guard.passed).toBe(false);
    expect(r.qc.map((w) => w.kind)).toEqual(['restoration-harms']);
    expect(r.qc[0].message).toMatch(/the model made 2 of 2 examples worse than their input.*the result is written/);
    expect(r.structures[0].volume.dims).toEqual(DIMS);
  });
});
