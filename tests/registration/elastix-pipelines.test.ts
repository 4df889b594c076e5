import { describe, expect, it } from 'vitest';
import { realValues } from '../../main/engine/processing/intensity.js';
import type { Volume } from '../../main/imaging/volume.js';
import { spatialDims } from '../../main/imaging/volume.js';
import { defaultParameterMap, dropPipelines, pipelineLoads, registerWithElastix, transformix } from '../../main/registration/elastix-pipelines.js';
import { itkGeometry, itkImage } from '../../main/registration/itk-image.js';
import type { ParameterMap } from '../../main/registration/parameters.js';
import { OVERRIDES, withInterpolation } from '../../main/registration/parameters.js';
import { moved, rigid, syntheticHead } from './synthetic.js';

const head = syntheticHead(48);
const itk = (v: Volume, name: string) => itkImage(itkGeometry(v.affine, spatialDims(v)), realValues(v), name);

async function affineMaps(): Promise<ParameterMap[]> {
  const maps: ParameterMap[] = [];
  for (const stage of ['rigid', 'affine'] as const)
    maps.push({ ...(await defaultParameterMap(stage, { numberOfResolutions: 2 })), ...OVERRIDES.all, ...OVERRIDES[stage] });
  return maps;
}

describe('elastix pipelines, one instance per job', () => {
  it('registrations and warps on a reused instance give what the first call gave; a failed call, or a new job, gets a fresh instance', async () => {
    const maps = await affineMaps();
    const fixed = itk(head.image, 'fixed');
    const moving = itk(moved(head.image, rigid(5, [4, -3, 2])), 'moving');
    const first = await registerWithElastix(maps, { fixed, moving });
    const grid = itkGeometry(head.image.affine, spatialDims(head.image));
    const warp = (t: ParameterMap[]) => transformix(itk(head.label, 'label'), withInterpolation(t, 'nearest'), grid);
    const warped = await warp(first);
    expect(pipelineLoads('elastix')).toBe(1);

    // Noise on a tiny grid far away: elastix cannot register it, and the instance it failed in is dropped.
    const noise = {
      ...head.image,
      dims: [8, 8, 8],
      data: Int16Array.from({ length: 512 }, (_, i) => (i * 7919) % 1000),
      affine: moved(head.image, rigid(0, [900, 900, 900])).affine,
    };
    await expect(registerWithElastix(maps, { fixed, moving: itk(noise, 'noise') })).rejects.toThrow();

    // The next call makes a second instance, the one after reuses it.
    for (let k = 0; k < 2; k++) {
      expect(await registerWithElastix(maps, { fixed, moving })).toEqual(first);
      expect(Array.from((await warp(first)).data!)).toEqual(Array.from(warped.data!));
    }
    expect(pipelineLoads('elastix')).toBe(2);
    expect(pipelineLoads('transformix')).toBe(1);
    expect(pipelineLoads('default-parameter-map')).toBe(1);
    // The end of a job lets its instances go; the next job's first call makes new ones.
    dropPipelines();
    expect(Array.from((await warp(first)).data!)).toEqual(Array.from(warped.data!));
    expect(pipelineLoads('transformix')).toBe(2);
  });
});
