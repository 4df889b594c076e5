import { connectedComponents, type Connectivity } from '../imaging/components.js';
import type { Volume } from '../imaging/volume.js';
import { spatialDims, voxelCount, voxelVolumeMm3 } from '../imaging/volume.js';

/** One lesion: a connected component of the mask, with its centre for the report ("where is lesion 3?"). */
export interface LesionEntry {
  /** 1 = largest. */
  index: number;
  voxels: number;
  volumeMl: number;
  /** Centre of mass in voxel indices (i, j, k), one decimal. */
  centreVoxel: [number, number, number];
}

export interface LesionStats {
  count: number;
  totalVoxels: number;
  totalMl: number;
  voxelVolumeMm3: number;
  connectivity: Connectivity;
  /** Largest first. */
  lesions: LesionEntry[];
}

/**
 * Lesion count, per-lesion and total volume of a mask (every non-zero real value is lesion), by connected
 * components. 26-connectivity by default, the usual convention for lesion counts (two voxels touching at a
 * corner are one lesion); `minVoxels` leaves out specks that no reader would count.
 */
export function lesionStats(
  mask: Pick<Volume, 'data' | 'dims' | 'affine' | 'slope' | 'intercept'>,
  connectivity: Connectivity = 26,
  minVoxels = 1,
): LesionStats {
  const dims = spatialDims(mask);
  const n = voxelCount(dims);
  const binary = new Uint8Array(n);
  const slope = mask.slope === 0 || !Number.isFinite(mask.slope) ? 1 : mask.slope;
  const icpt = Number.isFinite(mask.intercept) ? mask.intercept : 0;
  for (let i = 0; i < n; i++) binary[i] = Math.round(mask.data[i] * slope + icpt) !== 0 ? 1 : 0;
  const c = connectedComponents(binary, dims, connectivity);
  const det = voxelVolumeMm3(mask.affine);
  const sum = Array.from({ length: c.count + 1 }, () => [0, 0, 0]);
  const [nx, ny] = dims;
  for (let v = 0; v < n; v++) {
    const k = c.labels[v];
    if (k === 0) continue;
    const s = sum[k];
    s[0] += v % nx;
    s[1] += Math.floor(v / nx) % ny;
    s[2] += Math.floor(v / (nx * ny));
  }
  const lesions: LesionEntry[] = [];
  for (let k = 1; k <= c.count; k++) {
    const voxels = c.sizes[k];
    if (voxels < minVoxels) continue;
    const centre = sum[k].map((x) => Math.round((x / voxels) * 10) / 10) as [number, number, number];
    lesions.push({ index: 0, voxels, volumeMl: (voxels * det) / 1000, centreVoxel: centre });
  }
  lesions.sort((a, b) => b.voxels - a.voxels);
  lesions.forEach((l, i) => (l.index = i + 1));
  const totalVoxels = lesions.reduce((a, l) => a + l.voxels, 0);
  return { count: lesions.length, totalVoxels, totalMl: (totalVoxels * det) / 1000, voxelVolumeMm3: det, connectivity, lesions };
}

/** RFC 4180 CSV, one line per lesion (largest first) and a last line with the total. */
export function lesionStatsCsv(stats: LesionStats): string {
  const lines = ['lesion,voxels,volume_ml,centre_i,centre_j,centre_k'];
  for (const l of stats.lesions) lines.push(`${l.index},${l.voxels},${l.volumeMl.toFixed(4)},${l.centreVoxel.join(',')}`);
  lines.push(`total (${stats.count} lesions),${stats.totalVoxels},${stats.totalMl.toFixed(4)},,,`);
  return lines.join('\r\n') + '\r\n';
}
