import { describe, expect, it } from 'vitest';
import { DEFORMABLE, ELASTIX_PACKAGE, parameterKey } from '../../main/registration/parameters.js';

describe('registration cache key', () => {
  it('changes with every setting of the cropped deformable stage, and only for deformable runs', () => {
    const saved = { ...DEFORMABLE };
    try {
      const affine = parameterKey('affine', ELASTIX_PACKAGE);
      const keys = new Set([parameterKey('deformable', ELASTIX_PACKAGE)]);
      for (const change of [{ cropMarginMm: null }, { cropMarginMm: 20 }, { resolutions: 2 }, { iterations: 32 }, { samples: 512 }]) {
        Object.assign(DEFORMABLE, saved, change);
        keys.add(parameterKey('deformable', ELASTIX_PACKAGE));
        expect(parameterKey('affine', ELASTIX_PACKAGE)).toBe(affine);
      }
      expect(keys.size).toBe(6);
    } finally {
      Object.assign(DEFORMABLE, saved);
    }
  });
});
