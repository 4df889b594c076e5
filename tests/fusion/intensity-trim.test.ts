import { describe, expect, it } from 'vitest';
import { INTENSITY_TRIM_DEFAULTS, intensityTrimFor, trimByIntensity } from '../../main/fusion/intensity-trim.js';
import { doubtOf } from '../../main/fusion/methods.js';

const N = 28;
const dims = [N, N, N];
const at = (x: number, y: number, z: number) => x + N * (y + N * z);
const inCube = (x: number, y: number, z: number, lo: number, hi: number) => x >= lo && x <= hi && y >= lo && y <= hi && z >= lo && z <= hi;

/**
 * A grey structure (the cube 9–18, intensity 80) in white matter (105), with a grey neighbour of the same
 * intensity against its +x face (x 19–22, like the amygdala against the hippocampus); noise ±4.
 */
function scene(): { values: Float32Array; truth: Uint8Array } {
  let s = 11;
  const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 8 - 4;
  const values = new Float32Array(N ** 3);
  const truth = new Uint8Array(N ** 3);
  for (let z = 0; z < N; z++)
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++) {
        const inside = inCube(x, y, z, 9, 18);
        const neighbour = x >= 19 && x <= 22 && y >= 9 && y <= 18 && z >= 9 && z <= 18;
        truth[at(x, y, z)] = inside ? 1 : 0;
        values[at(x, y, z)] = (inside || neighbour ? 80 : 105) + rnd();
      }
  return { values, truth };
}

/** A fused mask one voxel too wide on every side, the extra shell at probability 0.6, the rest sure. */
function overshoot(): { mask: Uint8Array; doubt: Uint8Array } {
  const mask = new Uint8Array(N ** 3);
  const doubt = new Uint8Array(N ** 3);
  for (let z = 0; z < N; z++)
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++) {
        if (!inCube(x, y, z, 8, 19)) continue;
        mask[at(x, y, z)] = 1;
        if (!inCube(x, y, z, 9, 18)) doubt[at(x, y, z)] = doubtOf(0.6);
      }
  return { mask, doubt };
}

describe('intensity trim of a fused structure', () => {
  it('removes the overshoot into tissue of another intensity, keeps the grey neighbour and every true voxel', () => {
    const { values, truth } = scene();
    const { mask, doubt } = overshoot();
    const before = mask.slice();
    const removed = trimByIntensity(values, mask, doubt, dims, { lo: [8, 8, 8], hi: [19, 19, 19] });
    let shellInWhite = 0;
    let shellInGrey = 0;
    for (let z = 0; z < N; z++)
      for (let y = 0; y < N; y++)
        for (let x = 0; x < N; x++) {
          const i = at(x, y, z);
          expect(mask[i] <= before[i]).toBe(true); // never grows
          if (truth[i]) expect(mask[i]).toBe(1);
          if (before[i] && !truth[i]) {
            const grey = x === 19 && y >= 9 && y <= 18 && z >= 9 && z <= 18;
            if (grey) shellInGrey += mask[i];
            else shellInWhite += mask[i];
          }
        }
    // The shell is 12³ − 10³ = 728 voxels, 100 of them against the grey neighbour.
    expect(shellInWhite).toBe(0);
    expect(shellInGrey).toBe(100);
    expect(removed).toBe(628);
    // A removed voxel's doubt is its posterior's: white matter's intensity leaves next to none.
    for (let i = 0; i < mask.length; i++) if (before[i] && !mask[i]) expect(doubt[i]).toBeLessThan(doubtOf(0.05));
  });

  it('leaves a structure too small to learn its intensity from as it is', () => {
    const { values } = scene();
    const mask = new Uint8Array(N ** 3);
    const doubt = new Uint8Array(N ** 3);
    // 5³ voxels, 27 of them off the edge: too few to learn from; the bright one beside the middle would go otherwise.
    for (let z = 11; z <= 15; z++) for (let y = 11; y <= 15; y++) for (let x = 11; x <= 15; x++) mask[at(x, y, z)] = 1;
    values[at(12, 13, 13)] = 200;
    const before = mask.slice();
    expect(trimByIntensity(values, mask, doubt, dims, { lo: [11, 11, 11], hi: [15, 15, 15] })).toBe(0);
    expect(mask).toEqual(before);
  });

  it('trims the hippocampus, either side or both, and no other structure', () => {
    for (const labels of [[17], [53], [17, 53]]) expect(intensityTrimFor(labels)).toEqual(INTENSITY_TRIM_DEFAULTS);
    for (const labels of [[4, 43], [12, 51], [17, 18], [], undefined]) expect(intensityTrimFor(labels)).toBeNull();
  });
});
