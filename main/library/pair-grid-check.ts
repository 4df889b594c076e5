import { gridMismatch, isSingleFrame } from '../imaging/grid.js';
import type { VolumeStore } from '../session/volume-store.js';
import type { PairGridCheck } from './types.js';

/**
 * The library's own refusal rules (main/library/add-pair.ts: single 3-D frames, the label on the
 * image's grid), applied to two open volumes without storing anything, so the Library panel can warn
 * as soon as both files are chosen instead of after a failed add. Same helpers, same words.
 */
export function checkPairGrid(volumes: VolumeStore, imageVolumeId: string, labelVolumeId: string): PairGridCheck {
  const image = volumes.get(imageVolumeId);
  const label = volumes.get(labelVolumeId);
  const imageName = volumes.info(imageVolumeId).name;
  const labelName = volumes.info(labelVolumeId).name;
  let problem: string | null = null;
  for (const [v, name] of [
    [image, imageName],
    [label, labelName],
  ] as const) {
    if (!problem && !isSingleFrame(v.dims)) problem = `${name}: has ${v.dims.length}-D dims ${v.dims.join('×')}: a context pair needs single 3-D volumes`;
  }
  const mismatch = problem ? null : gridMismatch(image, label);
  if (mismatch) problem = `${labelName}: ${mismatch} (${imageName}); resample the label onto the image first`;
  const summary = (name: string, v: typeof image) => ({ name, dims: v.dims.slice(0, 3), spacing: v.spacing.slice(0, 3) });
  return { problem, image: summary(imageName, image), label: summary(labelName, label) };
}
