import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSafetensors } from '../../main/engine/checkpoint/safetensors.js';
import type { GridPair } from '../../main/engine/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/engine/', import.meta.url));

/** PyTorch arrays are [X, Y, Z] with z fastest; the engine works on x-fastest volumes. */
export function zFastestToXFastest(a: Float32Array, [nx, ny, nz]: readonly number[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let x = 0; x < nx; x++) for (let y = 0; y < ny; y++) for (let z = 0; z < nz; z++) out[x + nx * (y + ny * z)] = a[(x * ny + y) * nz + z];
  return out;
}

export interface IoFixture {
  grid: [number, number, number];
  target: Float32Array;
  pairs: GridPair[];
  pred: Float32Array;
}

export function loadIo(file: string): IoFixture {
  const { tensors } = parseSafetensors(readFileSync(file), file);
  const t = tensors.get('target')!;
  const grid = t.dims.slice(1) as [number, number, number];
  const n = grid[0] * grid[1] * grid[2];
  const ci = tensors.get('ctx_img')!;
  const cl = tensors.get('ctx_lab')!;
  const L = ci.dims[0];
  const pairs: GridPair[] = [];
  for (let i = 0; i < L; i++) {
    pairs.push({
      image: zFastestToXFastest(ci.data.subarray(i * n, (i + 1) * n), grid),
      label: zFastestToXFastest(cl.data.subarray(i * n, (i + 1) * n), grid),
    });
  }
  return { grid, target: zFastestToXFastest(t.data, grid), pairs, pred: zFastestToXFastest(tensors.get('pred')!.data, grid) };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
