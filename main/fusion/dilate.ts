/**
 * Binary dilation by a (2r+1)³ cube, separable (three passes along x, y, z): 1 wherever a non-zero voxel of `src`
 * lies within r voxels on every axis; r = 0 gives a 0/1 copy. Joint label fusion's region of work and the intensity
 * trim's ring and band both need it. Written here rather than taken from a library: no morphology package of the
 * field runs on our flat x-fastest volumes without a copy into its own image type.
 */
export function dilateCube(src: Uint8Array, dims: readonly number[], r: number): Uint8Array {
  let a = Uint8Array.from(src, (v) => (v ? 1 : 0));
  const strides = [1, dims[0], dims[0] * dims[1]];
  for (let axis = 0; axis < 3 && r > 0; axis++) {
    const b = new Uint8Array(a.length);
    const len = dims[axis];
    const st = strides[axis];
    for (let i = 0; i < a.length; i++) {
      if (!a[i]) continue;
      const c = Math.floor(i / st) % len;
      const base = i - c * st;
      for (let t = Math.max(0, c - r); t <= Math.min(len - 1, c + r); t++) b[base + t * st] = 1;
    }
    a = b;
  }
  return a;
}
