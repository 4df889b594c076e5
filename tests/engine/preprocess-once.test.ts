import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine, importCheckpoint } from '../../main/engine/index.js';
import type { LazyContextPair } from '../../main/engine/index.js';
import { answerTable } from '../../main/engine/processing/answer-table.js';
import { foregroundBox, foregroundBoxWhere } from '../../main/engine/processing/foreground-box.js';
import { volumeQuantiles } from '../../main/engine/processing/intensity.js';
import { checkContextPair } from '../../main/engine/processing/pair-checks.js';
import { runTaskOnEngine } from '../../main/engine/run-task.js';
import { readAhead } from '../../main/util/read-ahead.js';
import type { Volume, VoxelArray } from '../../main/imaging/volume.js';
import { testVolume } from '../helpers/volumes.js';
import { FIXTURES } from './fixture-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'nv-prep-once-'));
let engine: InferenceEngine;
beforeAll(async () => {
  await importCheckpoint(join(FIXTURES, 'tiny.safetensors'), join(tmp, 'm'), { grid: [32, 32, 32] });
  engine = await InferenceEngine.open(join(tmp, 'm'), 'cpu');
});
afterAll(async () => {
  await engine?.release();
  rmSync(tmp, { recursive: true, force: true });
});

const DIMS = [30, 34, 28];
function vol(Ctor: new (n: number) => VoxelArray, f: (x: number, y: number, z: number) => number): Volume {
  const data = new Ctor(DIMS[0] * DIMS[1] * DIMS[2]);
  for (let z = 0, o = 0; z < DIMS[2]; z++) for (let y = 0; y < DIMS[1]; y++) for (let x = 0; x < DIMS[0]; x++) data[o++] = f(x, y, z);
  return testVolume(DIMS, data);
}
// 8-bit heads with an int16 label map, as FreeSurfer's are: the table paths.
const head = (s: number) => vol(Uint8Array, (x, y, z) => ((x - 15) ** 2 + (y - 17) ** 2 + (z - 14) ** 2 < 100 ? 90 : 5) + ((x * 7 + y * s + z) % 23));
const label = (cx: number) => vol(Int16Array, (x, y, z) => ((x - cx) ** 2 + (y - 17) ** 2 + (z - 14) ** 2 < 20 ? 17 : 2));

describe('preprocessing reads and scans each volume once', () => {
  it('checks before compute read every pair once, and give the same result as pairs held in memory', async () => {
    const volumes = [1, 2, 3].map((s) => ({ image: head(s), label: label(12 + s) }));
    const loads = [0, 0, 0];
    const lazy: LazyContextPair[] = volumes.map((v, i) => ({
      imageFile: `img-${i}.nii.gz`,
      labelFile: `lab-${i}.nii.gz`,
      identity: { image: `img-${i}`, label: `lab-${i}` },
      load: async () => {
        loads[i]++;
        return v;
      },
    }));
    const target = head(7);
    const checked = await runTaskOnEngine(engine, {
      target,
      structures: [{ task: 'segment', labels: [17], pairs: lazy }],
      checkPairsFirst: true,
      miniContext: 2,
    });
    expect(loads).toEqual([1, 1, 1]);
    const inMemory = await runTaskOnEngine(engine, { target, structures: [{ task: 'segment', labels: [17], pairs: volumes }], miniContext: 2 });
    expect(Buffer.from(checked.structures[0].volume.data.buffer).equals(Buffer.from(inMemory.structures[0].volume.data.buffer))).toBe(true);
  });

  it('a pair is refused when its label map lacks the structure, and kept when the structure is a single voxel', async () => {
    const lazy = (l: Volume): LazyContextPair => ({ imageFile: 'img.nii.gz', labelFile: 'lab.nii.gz', load: async () => ({ image: head(1), label: l }) });
    const run = (l: Volume) =>
      runTaskOnEngine(engine, { target: head(7), structures: [{ task: 'segment', labels: [17], pairs: [lazy(l)] }], checkPairsFirst: true });
    await expect(run(vol(Int16Array, () => 2))).rejects.toThrow(/lab\.nii\.gz: none of the label values 17 occurs/);
    await expect(run(vol(Int16Array, (x, y, z) => (x === 29 && y === 0 && z === 27 ? 17 : 0)))).resolves.toBeDefined();
  });

  it('a per-value table gives the same answers as the test itself, and the same foreground box', () => {
    for (const Ctor of [Uint8Array, Int8Array, Uint16Array, Int16Array] as (new (n: number) => VoxelArray)[]) {
      const v = vol(Ctor, (x, y, z) => ((x * 31 + y * 17 + z * 5) % 200) - (Ctor === Int8Array || Ctor === Int16Array ? 90 : 0));
      const test = (s: number) => s * 0.37 + 2 >= 40;
      const t = answerTable(v.data, test)!;
      for (const s of v.data) expect(t.answers[s + t.offset]).toBe(test(s) ? 1 : 0);
      const viaTable = foregroundBoxWhere(v.data, DIMS, test);
      expect(viaTable).not.toBeNull();
      expect(viaTable).toEqual(foregroundBoxWhere(Float32Array.from(v.data), DIMS, test));
      expect(viaTable).toEqual(
        foregroundBox(
          Float32Array.from(v.data, (s) => (test(s) ? 1 : 0)),
          DIMS,
          1,
        ),
      );
    }
    expect(answerTable(new Float32Array(4), () => true)).toBeNull();
  });

  it('runs of zero voxels read a word at a time give the same boxes, quantiles and label checks, on any row length and byte offset', () => {
    for (const dims of [DIMS, [13, 7, 5], [3, 3, 3]]) {
      const n = dims[0] * dims[1] * dims[2];
      for (const Ctor of [Uint8Array, Int8Array, Uint16Array, Int16Array] as (new (n: number) => VoxelArray)[]) {
        // Byte offsets 0 (the word path) and one element (not on a word boundary: the voxel path), with the
        // voxel before the volume non-zero, so a word read across the start would be seen.
        for (const shift of [0, 1]) {
          const whole = new Ctor(n + shift);
          whole[0] = 9;
          const data = whole.subarray(shift) as VoxelArray;
          // A ball of values in a volume of zeros: zero words, mixed words, and a last voxel that no word holds.
          for (let z = 0, o = 0; z < dims[2]; z++)
            for (let y = 0; y < dims[1]; y++)
              for (let x = 0; x < dims[0]; x++, o++)
                data[o] = (x - dims[0] / 2) ** 2 + (y - dims[1] / 2) ** 2 + (z - dims[2] / 2) ** 2 < (dims[0] / 3) ** 2 ? 1 + ((x + y + z) % 60) : 0;
          data[n - 1] = 61;
          const asFloat = Float32Array.from(data);
          for (const test of [(s: number) => s >= 30, (s: number) => s <= 0]) {
            expect(foregroundBoxWhere(data, dims, test)).toEqual(foregroundBoxWhere(asFloat, dims, test));
          }
          // One foreground voxel at each position of a row in turn: the box is that voxel, whichever word lane holds it.
          for (let x = 0; x < dims[0]; x++) {
            const one = new Ctor(n + shift).subarray(shift) as VoxelArray;
            const at = x + dims[0] * (dims[1] - 1) + dims[0] * dims[1] * (dims[2] >> 1);
            one[at] = 50;
            expect(foregroundBoxWhere(one, dims, (s) => s >= 30)).toEqual({ lo: [x, dims[1] - 1, dims[2] >> 1], hi: [x, dims[1] - 1, dims[2] >> 1] });
          }
          const qs = [0, 0.02, 0.5, 0.98, 1];
          expect(volumeQuantiles(testVolume(dims, data), qs)).toEqual(volumeQuantiles(testVolume(dims, asFloat), qs));
          // The one voxel of label 61 is the last, outside every whole word; then none at all.
          const pair = { image: testVolume(dims, asFloat), label: testVolume(dims, data) };
          expect(() => checkContextPair(pair, 'segment', [61], 0)).not.toThrow();
          data[n - 1] = 0;
          expect(() => checkContextPair(pair, 'segment', [61], 0)).toThrow(/none of the label values 61/);
        }
      }
    }
  });
});

describe('readAhead', () => {
  it('gives every load in order, starts the first at once and the next only when the one before has come, and reports a failure in its turn', async () => {
    const started: number[] = [];
    const load = (i: number) => {
      started.push(i);
      return i === 2 ? Promise.reject(new Error('bad 2')) : Promise.resolve(i * 10);
    };
    const reads = readAhead([0, 1, 2, 3], load);
    expect(started).toEqual([0]);
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const { item, value } of reads) {
          got.push(value);
          expect(started).toEqual([...Array(Math.min(item + 2, 4)).keys()]);
        }
      })(),
    ).rejects.toThrow('bad 2');
    expect(got).toEqual([0, 10]);
    // Stopping early leaves the load started ahead unreported (no unhandled rejection).
    for await (const _ of readAhead([0, 2], load)) break;
  });
});
