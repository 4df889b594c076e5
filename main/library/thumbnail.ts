import { realValue, voxelCount, type Volume } from '../imaging/index.js';
import type { SetThumbnail } from './types.js';

/**
 * The middle axial slice (k = nz/2) of an image and its label as raw 2-D arrays for a small preview.
 * Rows run top to bottom from the highest voxel j to 0 and columns follow voxel i, so a RAS-stored
 * volume shows anterior up as radiologists expect; `gray` is windowed to the slice's 1st–99th
 * percentile, `mask` is 1 where the label has one of `labels` (any non-zero label when empty), or for a
 * generation task the output image windowed the same way.
 */
export function midSliceThumbnail(image: Volume, label: Volume, labels: number[] | 'generate'): Omit<SetThumbnail, 'pairId' | 'setName'> {
  const [nx, ny, nz] = [image.dims[0], image.dims[1] ?? 1, image.dims[2] ?? 1];
  const k = Math.floor(nz / 2);
  // A generation task's output is an image: window it like the input.
  if (labels === 'generate') return { width: nx, height: ny, slice: k, gray: windowedSlice(image, k), mask: windowedSlice(label, k) };
  const plane = nx * ny;
  const mask = new Uint8Array(plane);
  const want = new Set(labels);
  const total = voxelCount(label.dims);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const idx = i + nx * (j + ny * k);
      if (idx >= total) continue;
      const v = realValue(label, idx);
      if (v !== 0 && (want.size === 0 || want.has(v))) mask[(ny - 1 - j) * nx + i] = 1;
    }
  }
  return { width: nx, height: ny, slice: k, gray: windowedSlice(image, k), mask };
}

function windowedSlice(image: Volume, k: number): Uint8Array {
  const [nx, ny] = [image.dims[0], image.dims[1] ?? 1];
  const plane = nx * ny;
  const values = new Float64Array(plane);
  for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) values[(ny - 1 - j) * nx + i] = realValue(image, i + nx * (j + ny * k));
  const sorted = Float64Array.from(values).sort();
  const lo = sorted[Math.floor(0.01 * (plane - 1))];
  const hi = sorted[Math.floor(0.99 * (plane - 1))];
  const gray = new Uint8Array(plane);
  const span = hi > lo ? hi - lo : 1;
  for (let n = 0; n < plane; n++) gray[n] = Math.max(0, Math.min(255, Math.round(((values[n] - lo) / span) * 255)));
  return gray;
}
