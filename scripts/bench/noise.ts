/** Deterministic uniform noise in [0, 1) (a linear congruential generator): engine benchmarks' inputs, whose
 * kernels cost the same whatever the voxels hold. */
export function noiseVolume(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 2 ** 32;
  }
  return a;
}
