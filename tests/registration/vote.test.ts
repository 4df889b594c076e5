import { describe, expect, it } from 'vitest';
import { majorityVote } from '../../main/fusion/vote.js';
import type { Volume } from '../../main/imaging/volume.js';
import { testVolume } from '../helpers/volumes.js';

const map = (values: number[]): Volume => testVolume([values.length, 1, 1], Int16Array.from(values));

describe('majority vote', () => {
  it('a voxel is in when at least half of the maps hold one of the labels', async () => {
    const maps = [map([17, 17, 0, 53, 4]), map([17, 0, 0, 53, 17]), map([0, 0, 17, 0, 53]), map([53, 0, 0, 17, 0])];
    const { mask } = await majorityVote(maps.length, async (i) => maps[i], [17, 53]);
    expect(Array.from(mask)).toEqual([1, 0, 0, 1, 1]);
    const only17 = await majorityVote(maps.length, async (i) => maps[i], [17]);
    expect(Array.from(only17.mask)).toEqual([1, 0, 0, 0, 0]);
    const any = await majorityVote(3, async (i) => maps[i], undefined);
    expect(Array.from(any.mask)).toEqual([1, 0, 0, 1, 1]);
  });

  it('maps on different grids are refused', async () => {
    await expect(majorityVote(2, async (i) => (i === 0 ? map([1, 1]) : map([1, 1, 1])), [1])).rejects.toThrow(/align them first/);
  });
});
