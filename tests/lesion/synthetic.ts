import { seededRandom } from '../../main/lesion/boosting.js';
import type { LesionImage } from '../../main/lesion/features.js';

export const DIMS: [number, number, number] = [40, 40, 32];

/**
 * A small skull-stripped "brain": an ellipsoid of grey with smooth texture and noise on a zero background, and
 * bright spherical blobs (lesions) where asked. `scale`/`offset` change the intensity units, as between scanners.
 */
export function syntheticCase(
  blobs: { at: [number, number, number]; radius: number }[],
  seed: number,
  units: { scale: number; offset: number } = { scale: 1, offset: 0 },
): { image: LesionImage; label: Uint8Array } {
  const [nx, ny, nz] = DIMS;
  const rnd = seededRandom(seed);
  const image = new Float32Array(nx * ny * nz);
  const label = new Uint8Array(nx * ny * nz);
  const c = [nx / 2, ny / 2, nz / 2];
  const r = [17, 17, 13];
  for (let k = 0, v = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, v++) {
        const e = ((i - c[0]) / r[0]) ** 2 + ((j - c[1]) / r[1]) ** 2 + ((k - c[2]) / r[2]) ** 2;
        if (e > 1) continue;
        let x = 100 + 10 * Math.sin(i / 3) * Math.cos(j / 4) + 8 * (rnd() - 0.5);
        for (const b of blobs) {
          const d = Math.hypot(i - b.at[0], j - b.at[1], k - b.at[2]);
          if (d <= b.radius) {
            label[v] = 1;
            x += 60;
          }
        }
        image[v] = x * units.scale + units.offset;
      }
  return { image: { channels: [image], dims: DIMS, spacing: [1, 1, 1], lrAxis: 0 }, label };
}

export function dice(a: Uint8Array, b: Uint8Array): number {
  let x = 0;
  let y = 0;
  let xy = 0;
  for (let i = 0; i < a.length; i++) {
    x += a[i] ? 1 : 0;
    y += b[i] ? 1 : 0;
    xy += a[i] && b[i] ? 1 : 0;
  }
  return x + y === 0 ? 1 : (2 * xy) / (x + y);
}

export function count(a: Uint8Array): number {
  let n = 0;
  for (const v of a) n += v ? 1 : 0;
  return n;
}
