import type { Volume } from '../imaging/volume.js';
import { spatialDims } from '../imaging/volume.js';
import { labelMembership } from '../imaging/labels.js';
import { boxWhere, unionBox, type VoxelBox } from '../imaging/voxel-box.js';

/** Similarity is judged on a grid of about this spacing: finer costs time and does not change the ranking. */
const STEP_MM = 2;
/** Half-width of the local window, in grid steps: a 10 mm cube at 2 mm. */
const RADIUS = 2;
/** Around the structure's warped labels: some anatomy around it decides whether a pair fits, not the label alone. */
export const CHOICE_MARGIN_MM = 10;
/** Weight of a scanner match from the DICOM headers (1 = manufacturer and model, ½ = manufacturer alone): a tie-break. */
export const HEADER_WEIGHT = 0.02;

/** The aligned candidates, read one at a time so that memory does not grow with the library. */
export interface ChoiceCandidates {
  count: number;
  readImage(i: number): Promise<Volume>;
  readLabel(i: number): Promise<Volume>;
  /** 0–1 per candidate from the DICOM headers (scanner of the pair's set against the target's), when known. */
  headerMatch?: readonly number[];
}

export interface PairScore {
  /** Index into the candidates as given. */
  index: number;
  /** Mean local correlation of the target and the aligned pair image in the region (−1…1). */
  similarity: number;
  headerMatch: number;
  /** similarity + HEADER_WEIGHT × headerMatch: the ranking key. */
  score: number;
  rank: number;
  chosen: boolean;
}

export interface ContextChoice {
  /** How many were chosen, of how many. */
  n: number;
  from: number;
  /** The region compared, on the target grid (null when no candidate has the structure). */
  region: VoxelBox | null;
  scores: PairScore[];
}

/**
 * Ranks aligned context pairs, for each structure, by how well they fit the target where it matters: the
 * mean local normalised cross-correlation (10 mm windows) between the target and each pair's aligned image,
 * inside the box of the structure's aligned labels (over all candidates) grown by a margin. Local correlation
 * ignores each scanner's intensity scale, and it drops where a pair's anatomy or field of view differs from
 * the target's. The best `n` are chosen; ties keep the given order.
 */
export async function rankContext(
  target: Volume,
  c: ChoiceCandidates,
  structures: ReadonlyArray<readonly number[] | undefined>,
  n: number,
  signal?: AbortSignal,
): Promise<ContextChoice[]> {
  const dims = spatialDims(target);
  const boxes: (VoxelBox | null)[][] = structures.map(() => []);
  for (let i = 0; i < c.count; i++) {
    signal?.throwIfAborted();
    const label = await c.readLabel(i);
    structures.forEach((labels, k) => {
      const member = labelMembership(label, labels);
      boxes[k].push(boxWhere(label.data, dims, (v) => member(v) === 1));
    });
  }
  const regions = boxes.map((b) => {
    const u = unionBox(b);
    return u ? regionAround(u, dims, target.spacing) : null;
  });
  const similarity = structures.map(() => new Array<number>(c.count).fill(0));
  for (let i = 0; i < c.count; i++) {
    signal?.throwIfAborted();
    const image = await c.readImage(i);
    regions.forEach((region, k) => {
      if (region) similarity[k][i] = localCorrelation(target, image, region);
    });
  }
  return regions.map((region, k) => {
    const scores: PairScore[] = similarity[k].map((sim, index) => {
      const headerMatch = c.headerMatch?.[index] ?? 0;
      return { index, similarity: round(sim), headerMatch, score: round(sim + HEADER_WEIGHT * headerMatch), rank: 0, chosen: false };
    });
    [...scores]
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .forEach((s, r) => {
        s.rank = r + 1;
        s.chosen = r < n;
      });
    return { n: Math.min(n, c.count), from: c.count, region, scores };
  });
}

/** The region similarity is judged in: a structure's box grown by the margin, inside the grid. */
export function regionAround(box: VoxelBox, dims: number[], spacing: number[]): VoxelBox {
  const m = [0, 1, 2].map((k) => Math.ceil(CHOICE_MARGIN_MM / Math.abs(spacing[k] || 1)));
  return {
    lo: [0, 1, 2].map((k) => Math.max(0, box.lo[k] - m[k])) as [number, number, number],
    hi: [0, 1, 2].map((k) => Math.min(dims[k] - 1, box.hi[k] + m[k])) as [number, number, number],
  };
}

/**
 * Mean over the region's sample points of the windowed correlation of a and b, by summed-area tables of
 * the five moments on the coarse grid (written here: no library of the field does 3D local correlation in JS).
 * Windows where either image is flat (no texture, e.g. outside the head) are left out.
 */
export function localCorrelation(a: Volume, b: Volume, region: VoxelBox): number {
  const dims = spatialDims(a);
  const step = [0, 1, 2].map((k) => Math.max(1, Math.round(STEP_MM / Math.abs(a.spacing[k] || 1))));
  const size = [0, 1, 2].map((k) => Math.floor((region.hi[k] - region.lo[k]) / step[k]) + 1);
  const [sx, sy, sz] = size;
  // Summed-area tables with one leading zero plane per axis.
  const px = sx + 1;
  const py = sy + 1;
  const pxy = px * py;
  const n = pxy * (sz + 1);
  const tables = [0, 1, 2, 3, 4].map(() => new Float64Array(n));
  const [tA, tB, tAA, tBB, tAB] = tables;
  const [nx, ny] = dims;
  const sa = a.slope || 1;
  const sb = b.slope || 1;
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      for (let x = 0; x < sx; x++) {
        const i = region.lo[0] + x * step[0] + nx * (region.lo[1] + y * step[1] + ny * (region.lo[2] + z * step[2]));
        // Intercepts do not change a correlation; slopes only rescale, but keep the values in range.
        const va = a.data[i] * sa;
        const vb = b.data[i] * sb;
        const o = x + 1 + px * (y + 1 + py * (z + 1));
        const vals = [va, vb, va * va, vb * vb, va * vb];
        for (let t = 0; t < 5; t++) {
          const T = tables[t];
          T[o] = vals[t] + T[o - 1] + T[o - px] + T[o - pxy] - T[o - 1 - px] - T[o - 1 - pxy] - T[o - px - pxy] + T[o - 1 - px - pxy];
        }
      }
    }
  }
  const boxSum = (T: Float64Array, x0: number, y0: number, z0: number, x1: number, y1: number, z1: number) => {
    const at = (x: number, y: number, z: number) => T[x + px * (y + py * z)];
    return at(x1, y1, z1) - at(x0, y1, z1) - at(x1, y0, z1) - at(x1, y1, z0) + at(x0, y0, z1) + at(x0, y1, z0) + at(x1, y0, z0) - at(x0, y0, z0);
  };
  let sum = 0;
  let count = 0;
  for (let z = 0; z < sz; z++) {
    const z0 = Math.max(0, z - RADIUS);
    const z1 = Math.min(sz, z + RADIUS + 1);
    for (let y = 0; y < sy; y++) {
      const y0 = Math.max(0, y - RADIUS);
      const y1 = Math.min(sy, y + RADIUS + 1);
      for (let x = 0; x < sx; x++) {
        const x0 = Math.max(0, x - RADIUS);
        const x1 = Math.min(sx, x + RADIUS + 1);
        const m = (x1 - x0) * (y1 - y0) * (z1 - z0);
        const A = boxSum(tA, x0, y0, z0, x1, y1, z1);
        const B = boxSum(tB, x0, y0, z0, x1, y1, z1);
        const varA = boxSum(tAA, x0, y0, z0, x1, y1, z1) - (A * A) / m;
        const varB = boxSum(tBB, x0, y0, z0, x1, y1, z1) - (B * B) / m;
        const cov = boxSum(tAB, x0, y0, z0, x1, y1, z1) - (A * B) / m;
        if (!(varA > 1e-6 * m && varB > 1e-6 * m)) continue;
        sum += cov / Math.sqrt(varA * varB);
        count++;
      }
    }
  }
  return count ? sum / count : 0;
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
