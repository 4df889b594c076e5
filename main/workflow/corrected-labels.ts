/**
 * From a corrected result back to the set's label vocabulary. A segmentation result holds one mask per
 * structure (value k for structure k, which is also what the correction brush paints), while the set's
 * label maps hold the task's own values (AAL 37/38, FreeSurfer 17/53 for left/right hippocampus). These
 * helpers decide which value each corrected voxel is stored with, keeping apart what the result and the
 * set allow to be kept apart.
 */
import { axisMapping, spatialDims, type Volume } from '../imaging/index.js';
import type { StructureRequest } from './types.js';

/**
 * Position as fractions of the volume's grid, with the axes in RAS order (so a label map stored LIA and a
 * target stored RAS compare left with left): the model sees every volume fitted into its own grid.
 */
export type GridPoint = [number, number, number];

/** Per stored axis: which RAS axis it is and whether it runs backwards; fraction of voxel p along it. */
function rasFractions(v: Volume): (p: [number, number, number]) => GridPoint {
  const dims = spatialDims(v);
  const { perm, flip } = axisMapping(v.affine, 'RAS');
  return (p) => {
    const out: GridPoint = [0, 0, 0];
    for (let w = 0; w < 3; w++) {
      const c = perm[w];
      out[w] = flip[w] ? (dims[c] - 0.5 - p[c]) / dims[c] : (p[c] + 0.5) / dims[c];
    }
    return out;
  };
}

/** Values each structure stands for, and whether another structure was run on a value alone. */
function ownValues(structures: StructureRequest[], setLabels: number[]) {
  const own = structures.map((s) => (s.labels.length ? s.labels : setLabels));
  const alone = (v: number, k: number) => structures.some((s, j) => j !== k && s.labels.length === 1 && s.labels[0] === v);
  return { own, alone };
}

/**
 * The one value each structure is saved as where its voxels cannot be split: a structure run on one
 * value keeps it (left hippocampus: 17 and right hippocampus: 53 stay 17 and 53); one run on several
 * takes the first of them that no other structure stands for alone, so it never takes another
 * structure's value (hippocampus: 37 38 beside left: 37 is saved as 38); one without values takes the
 * set's task values the same way, else the smallest value no structure uses.
 */
export function savedLabelValues(structures: StructureRequest[], setLabels: number[]): number[] {
  const { own, alone } = ownValues(structures, setLabels);
  const used = new Set<number>();
  return own.map((values, k) => {
    const named = structures[k].labels;
    let chosen = named.length === 1 ? named[0] : (values.find((v) => !alone(v, k) && !used.has(v)) ?? named[0]);
    if (chosen === undefined) {
      chosen = 1;
      while (used.has(chosen) || alone(chosen, k)) chosen++;
    }
    used.add(chosen);
    return chosen;
  });
}

/**
 * Per structure, the values its one mask stands for when there are several to tell apart (null when
 * there is one): the result cannot say which voxel is 37 and which 38, but the set's label maps can say
 * where each of them lies (see labelCentroids).
 */
export function splittableValues(structures: StructureRequest[], setLabels: number[]): (number[] | null)[] {
  const { own, alone } = ownValues(structures, setLabels);
  return own.map((values, k) => {
    const free = [...new Set(values.filter((v) => !alone(v, k)))];
    return free.length > 1 ? free : null;
  });
}

/**
 * Mean position (fractions of each map's grid) of each wanted value over label maps; values never seen
 * are absent. Maps may come one at a time (an async iterable), so memory does not grow with the set.
 */
export async function labelCentroids(maps: Iterable<Volume> | AsyncIterable<Volume>, wanted: number[]): Promise<Map<number, GridPoint>> {
  const sums = new Map<number, [number, number, number, number]>(wanted.map((v) => [v, [0, 0, 0, 0]]));
  for await (const map of maps) {
    const [nx, ny, nz] = spatialDims(map);
    const { data, slope, intercept } = map;
    const at = rasFractions(map);
    let n = 0;
    for (let k = 0; k < nz; k++) {
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++, n++) {
          const s = sums.get(Math.round(data[n] * slope + intercept));
          if (!s) continue;
          const f = at([i, j, k]);
          s[0] += f[0];
          s[1] += f[1];
          s[2] += f[2];
          s[3]++;
        }
      }
    }
  }
  const out = new Map<number, GridPoint>();
  for (const [v, s] of sums) if (s[3] > 0) out.set(v, [s[0] / s[3], s[1] / s[3], s[2] / s[3]]);
  return out;
}

/**
 * The corrected mask in the set's values: structure k's voxels become `values[k-1]`, or, where
 * `splits[k-1]` lists several values with their positions, the value whose position is nearest (left
 * hippocampus voxels to 37, right to 38).
 */
export function remapCorrected(mask: Volume, values: number[], splits: ({ value: number; at: GridPoint }[] | null)[]): Uint8Array | Uint16Array {
  const largest = Math.max(...values, ...splits.flatMap((s) => s?.map((x) => x.value) ?? []));
  const out = largest > 255 ? new Uint16Array(mask.data.length) : new Uint8Array(mask.data.length);
  const [nx, ny, nz] = spatialDims(mask);
  const at = rasFractions(mask);
  let n = 0;
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++, n++) {
        const s = mask.data[n];
        if (!(s > 0 && s <= values.length)) continue;
        const split = splits[s - 1];
        if (!split) {
          out[n] = values[s - 1];
          continue;
        }
        const [x, y, z] = at([i, j, k]);
        let best = split[0];
        let bestD = Infinity;
        for (const c of split) {
          const d = (c.at[0] - x) ** 2 + (c.at[1] - y) ** 2 + (c.at[2] - z) ** 2;
          if (d < bestD) [best, bestD] = [c, d];
        }
        out[n] = best.value;
      }
    }
  }
  return out;
}
