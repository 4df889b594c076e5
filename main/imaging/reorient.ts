import type { Affine, Volume, VoxelArray } from './volume.js';

/**
 * How the voxel axes of a volume map onto a target orientation: new axis w is old axis perm[w], read backwards
 * where flip[w]. Found from the affine, so world positions stay exact whatever order a reader chose.
 */
export interface AxisMapping {
  perm: [number, number, number];
  flip: [boolean, boolean, boolean];
}

const LETTERS: Record<string, { world: number; sign: 1 | -1 }> = {
  R: { world: 0, sign: 1 },
  L: { world: 0, sign: -1 },
  A: { world: 1, sign: 1 },
  P: { world: 1, sign: -1 },
  S: { world: 2, sign: 1 },
  I: { world: 2, sign: -1 },
};

/** True for three letters, one from each of R/L, A/P, S/I (e.g. "RAS", "LIA"). */
export function isOrientationCode(code: string): boolean {
  if (!/^[RLAPSI]{3}$/.test(code)) return false;
  return new Set([...code].map((c) => LETTERS[c].world)).size === 3;
}

/**
 * The mapping that makes voxel axis w point along code[w] as closely as the grid allows (greedy by the
 * largest direction cosine, so oblique scans go to the nearest orientation, as nibabel's io_orientation does).
 */
export function axisMapping(a: Affine, code: string): AxisMapping {
  if (!isOrientationCode(code)) throw new Error(`"${code}" is not an orientation code like RAS or LIA`);
  const want = [...code].map((c) => LETTERS[c]);
  const perm = [0, 1, 2] as [number, number, number];
  const order = [0, 1, 2]
    .flatMap((w) => [0, 1, 2].map((c) => ({ w, c, m: Math.abs(a[want[w].world][c]) / Math.hypot(a[0][c], a[1][c], a[2][c]) })))
    .sort((p, q) => q.m - p.m);
  const taken = new Set<number>();
  const used = new Set<number>();
  for (const { w, c } of order) {
    if (taken.has(w) || used.has(c)) continue;
    perm[w] = c;
    taken.add(w);
    used.add(c);
  }
  const flip = [0, 1, 2].map((w) => Math.sign(a[want[w].world][perm[w]]) !== want[w].sign) as [boolean, boolean, boolean];
  return { perm, flip };
}

/** Applies a mapping: data reordered (every frame of a 4-D volume), affine adjusted so world positions are kept. */
export function applyAxisMapping(v: Volume, { perm, flip }: AxisMapping): Volume {
  const a = v.affine;
  const n = [v.dims[perm[0]], v.dims[perm[1]], v.dims[perm[2]]];
  const nt = v.dims[3] ?? 1;
  const src = v.dims;
  const frame = src[0] * src[1] * src[2];
  const out = new (v.data.constructor as new (n: number) => VoxelArray)(v.data.length);
  const { start, steps: step } = mappedLayout(src, { perm, flip });
  let o = 0;
  for (let t = 0; t < nt; t++) {
    for (let z = 0; z < n[2]; z++) {
      for (let y = 0; y < n[1]; y++) {
        let s = start + t * frame + z * step[2] + y * step[1];
        for (let x = 0; x < n[0]; x++, s += step[0]) out[o++] = v.data[s];
      }
    }
  }
  const affine: Affine = [0, 1, 2].map((r) => {
    const row = [0, 0, 0, a[r][3]];
    for (let w = 0; w < 3; w++) {
      const col = perm[w];
      row[w] = flip[w] ? -a[r][col] : a[r][col];
      if (flip[w]) row[3] += a[r][col] * (n[w] - 1);
    }
    return row;
  });
  affine.push([0, 0, 0, 1]);
  const dims = [n[0], n[1], n[2], ...(v.dims.length > 3 ? [nt] : [])];
  const spacing = [v.spacing[perm[0]], v.spacing[perm[1]], v.spacing[perm[2]], ...v.spacing.slice(3)];
  return { ...v, dims, spacing, affine, data: out };
}

/** The mapping that undoes `m` (applied to the mapped volume, it gives back the original voxel order). */
export function inverseAxisMapping(m: AxisMapping): AxisMapping {
  const perm = [0, 0, 0] as [number, number, number];
  const flip = [false, false, false] as [boolean, boolean, boolean];
  for (let w = 0; w < 3; w++) {
    perm[m.perm[w]] = w;
    flip[m.perm[w]] = m.flip[w];
  }
  return { perm, flip };
}

/** Reorients to `code` (e.g. "LIA"); see axisMapping. */
export function reorientTo(v: Volume, code: string): Volume {
  return applyAxisMapping(v, axisMapping(v.affine, code));
}

/**
 * Reorders and flips voxel axes so that axis 0 points to +x (Right), 1 to +y (Anterior), 2 to +z
 * (Superior). Two volumes of the same scan compare voxel by voxel after this, whatever order their readers chose.
 */
export function reorientToRas(v: Volume): Volume {
  return reorientTo(v, 'RAS');
}

/** Axis codes in the nibabel/FSL sense: the direction each voxel axis points to, e.g. "RAS" or "LPI". */
export function orientationCode(a: Affine): string {
  const letters = [
    ['R', 'L'],
    ['A', 'P'],
    ['S', 'I'],
  ];
  return [0, 1, 2]
    .map((c) => {
      const col = [a[0][c], a[1][c], a[2][c]];
      const w = col.map(Math.abs).indexOf(Math.max(...col.map(Math.abs)));
      return letters[w][col[w] >= 0 ? 0 : 1];
    })
    .join('');
}

/**
 * The mapped volume's voxel (x, y, z) is stored data[start + x·steps[0] + y·steps[1] + z·steps[2]] (first
 * frame): lets a resampler read a volume in another orientation without copying it.
 */
export function mappedLayout(
  dims: readonly number[],
  { perm, flip }: AxisMapping,
): { dims: [number, number, number]; start: number; steps: [number, number, number] } {
  const strides = [1, dims[0], dims[0] * dims[1]];
  const n = [dims[perm[0]], dims[perm[1]], dims[perm[2]]] as [number, number, number];
  const steps = [0, 1, 2].map((w) => (flip[w] ? -1 : 1) * strides[perm[w]]) as [number, number, number];
  const start = [0, 1, 2].reduce((s, w) => s + (flip[w] ? (n[w] - 1) * strides[perm[w]] : 0), 0);
  return { dims: n, start, steps };
}
