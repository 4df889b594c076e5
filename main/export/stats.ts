import type { Volume } from '../imaging/volume.js';
import { voxelVolumeMm3 } from '../imaging/volume.js';
import { writeFileAtomic } from '../util/atomic-write.js';

import type { VolumeStats } from './types.js';

export type { StructureStats, VolumeStats } from './types.js';

/** Voxel count and volume of every non-zero label of a mask (real values after scl_slope/inter). */
export function volumeStats(mask: Volume, names: Record<number, string> = {}): VolumeStats {
  const det = voxelVolumeMm3(mask.affine);
  const counts = new Map<number, number>();
  const d = mask.data;
  const n = mask.dims[0] * (mask.dims[1] ?? 1) * (mask.dims[2] ?? 1);
  for (let i = 0; i < n; i++) {
    const v = Math.round(d[i] * mask.slope + mask.intercept);
    if (v !== 0) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const structures = [...counts.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([value, voxels]) => ({ value, name: names[value] ?? `Label ${value}`, voxels, volumeMl: (voxels * det) / 1000 }));
  return { voxelVolumeMm3: det, structures };
}

/** RFC 4180 CSV: quoted names, a header line, volumes to 4 decimals (0.1 µL, below any voxel size used). */
export function statsCsv(stats: VolumeStats): string {
  const q = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = ['structure,label,voxels,volume_ml'];
  for (const s of stats.structures) lines.push(`${q(s.name)},${s.value},${s.voxels},${s.volumeMl.toFixed(4)}`);
  return lines.join('\r\n') + '\r\n';
}

export async function writeStatsCsv(path: string, stats: VolumeStats, overwrite = false): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(statsCsv(stats)), { overwrite });
}
