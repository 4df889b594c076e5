import type { Affine, LabelEntry, VolumeSource } from '../imaging/volume.js';

export type VolumeRole = 'image' | 'label' | 'probability';

/** What the renderer and CLI learn about an open volume; the voxels travel separately as NIfTI. */
export interface VolumeInfo {
  id: string;
  name: string;
  role: VolumeRole;
  dims: number[];
  spacing: number[];
  affine: Affine;
  datatype: string;
  /** Real-valued range after scaling, for the default window. */
  range: [number, number];
  description: string;
  source: VolumeSource;
  /** Names and colours of a label volume's values (from a DICOM-SEG), for the legend and the colour table. */
  labels?: LabelEntry[];
}
