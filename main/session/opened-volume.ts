import type { SeriesSummary } from '../imaging/dicom/series-summary.js';
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

/**
 * An opened volume. `overlays` are label volumes that open with it: the DICOM-SEGs found beside its
 * series, or further SEGs of the same open. `problems` are SEGs that could not be placed (one line each);
 * the volume itself opened.
 */
export interface OpenedVolume {
  kind: 'volume';
  volume: VolumeInfo;
  overlays?: VolumeInfo[];
  problems?: string[];
}

export type OpenResult = OpenedVolume | { kind: 'choose-series'; pendingId: string; folder: string; series: SeriesSummary[] };

export interface OpenOptions {
  /** Pick this series when the folder holds several. */
  seriesInstanceUid?: string;
  /**
   * Open this volume of a series that makes several (a name from the picker's `volumes`); without it such a
   * series comes back as a choice, each volume offered.
   */
  volume?: string;
  /** Job id chosen by the caller so it can follow progress and cancel. */
  jobId?: string;
  role?: VolumeRole;
  /**
   * False for files opened only to be stored elsewhere (a library pair added from files): no recent-files
   * entry and no cached copy in the data folder. Default true.
   */
  remember?: boolean;
}
