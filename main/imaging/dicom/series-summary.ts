/** One series of a scanned DICOM folder, as the series picker shows it. */
export interface SeriesSummary {
  seriesInstanceUid: string;
  description: string;
  modality: string;
  seriesNumber: number | null;
  /** Number of files that belong to the series. */
  files: number;
  /** Frames (slices) over all files; an enhanced multi-frame file holds many. */
  frames: number;
  rows: number;
  columns: number;
  /** Which reader will import it and why (dcm2niix for mosaic, enhanced, compressed). */
  reader: 'dicom-parser' | 'dcm2niix';
  readerReason: string;
  /**
   * The names of the volumes the series makes when it makes several (echoes, magnitude and phase, ADC beside the
   * diffusion images), in the order `--volume N` counts them; absent for a series that makes one, and in the
   * plain summaries (only dicom/index.ts summariesWithVolumes asks dcm2niix).
   */
  volumes?: string[];
}
