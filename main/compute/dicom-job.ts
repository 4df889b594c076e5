import { decodeSeriesFiles } from '../imaging/dicom/decode.js';
import type { DicomFileInput } from '../imaging/dicom/files.js';
import type { JobHandler } from './protocol.js';

/** One series as a compute job: every file's bytes packed into one buffer that is moved, not copied, to the worker. */
export interface DecodeJob {
  label: string;
  bytes: ArrayBuffer;
  files: { name: string; path?: string; gunzipped: boolean; offset: number; length: number }[];
}

/** The worker side of a decode (dicom-worker.ts serves it): the series' volume, its voxels handed back by transfer. */
export const decodeJob: JobHandler = async (job: DecodeJob) => {
  const files: DicomFileInput[] = job.files.map((f) => ({ name: f.name, path: f.path, gunzipped: f.gunzipped, data: new Uint8Array(job.bytes, f.offset, f.length) }));
  const volume = await decodeSeriesFiles(files, job.label);
  // A view on a larger buffer (dcm2niix's NIfTI) is cut to its own here, so that only the voxels travel and the
  // buffer can be detached.
  if (volume.data.byteOffset !== 0 || volume.data.byteLength !== volume.data.buffer.byteLength) volume.data = volume.data.slice();
  return { value: volume, transfer: [volume.data.buffer as ArrayBuffer] };
};
