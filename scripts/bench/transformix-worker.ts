/** Compute worker of bench/worker-memory.ts: one job = three transformix calls on an n³ float image. */
import { serveJobs } from '../../main/compute/serve.js';
import { itkGeometry, itkImage } from '../../main/registration/itk-image.js';
import { identityTransform, withInterpolation } from '../../main/registration/parameters.js';

serveJobs({
  warp: async (payload) => {
    const n = payload as number;
    const identity = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => (r === c ? 1 : 0)));
    const g = itkGeometry(identity, [n, n, n]);
    const data = new Float32Array(n * n * n).map((_, i) => i % 97);
    const maps = withInterpolation([identityTransform(g)], 'linear');
    const { transformixNode } = await import('@itk-wasm/elastix');
    for (let k = 0; k < 3; k++) {
      await transformixNode(itkImage(g, data) as never, maps as never, {
        outputOrigin: g.origin,
        outputSpacing: g.spacing,
        outputSize: g.size,
        outputDirection: [...g.direction],
      });
    }
    return { value: null };
  },
});
