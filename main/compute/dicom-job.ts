import { decodeHeaders } from '../imaging/dicom/decode.js';
import type { PixelHeader } from '../imaging/dicom/header.js';
import type { SeriesSummary } from '../imaging/dicom/series-summary.js';
import type { Volume } from '../imaging/volume.js';
import type { JobHandler, StepProgress } from './protocol.js';

/**
 * One series as a compute job: its headers as plain data (parsed once, on the scanning thread) and every file's
 * bytes packed into one buffer that is moved, not copied, to the worker; each header says where its file lies.
 */
export interface DecodeJob {
  label: string;
  reader: SeriesSummary['reader'];
  /** Which of the volumes the series makes (name or 1-based number); the first by default. */
  pick?: string;
  bytes: ArrayBuffer;
  headers: (Omit<PixelHeader, 'file'> & { file: { name: string; path?: string; gunzipped: boolean; offset: number; length: number } })[];
}

/** The jobs of the DICOM decoding workers. */
export type DicomJobs = { 'dicom-decode': { payload: DecodeJob; result: Volume; progress: StepProgress } };

/** The worker side of a decode (dicom-worker.ts serves it): the series' volume, its voxels handed back by transfer. */
export const decodeJob: JobHandler<DicomJobs['dicom-decode']> = async (job) => {
  const headers: PixelHeader[] = job.headers.map(({ file: { offset, length, ...file }, ...h }) => ({
    ...h,
    file: { ...file, data: new Uint8Array(job.bytes, offset, length) },
  }));
  const volume = await decodeHeaders(headers, job.reader, job.label, job.pick);
  // A view on a larger buffer (dcm2niix's NIfTI) is cut to its own here, so that only the voxels travel and the
  // buffer can be detached.
  if (volume.data.byteOffset !== 0 || volume.data.byteLength !== volume.data.buffer.byteLength) volume.data = volume.data.slice();
  return { value: volume, transfer: [volume.data.buffer as ArrayBuffer] };
};
