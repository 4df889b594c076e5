import { InputError } from '../../common/errors.js';
import type { Volume } from '../volume.js';
import { buildClassicVolume } from './classic.js';
import { runDcm2niix } from './dcm2niix.js';
import type { DicomFileInput } from './files.js';
import { readHeader } from './header.js';
import { groupSeries, type DicomSeries } from './series.js';

/**
 * Turns one series of a scan into a volume. The default runs on the calling thread; the workstation and the
 * CLI pass one that runs in a compute worker (compute/dicom-decode.ts), which this floor cannot import.
 */
export type SeriesDecoder = (series: DicomSeries, label: string, signal?: AbortSignal) => Promise<Volume>;

/** The series' pixels assembled here: natively for classic series, by dcm2niix for the rest (series.ts says why). */
export const decodeSeries: SeriesDecoder = async (series, label) => {
  if (series.summary.reader === 'dicom-parser') return buildClassicVolume(series.headers, label);
  const result = await runDcm2niix(series.headers, label);
  // dcm2niix splits a series only by echo or image type; the first output is the one a user means
  // by "the series" (the magnitude / first echo). The others are named in the description.
  const [main, ...rest] = result.volumes;
  if (rest.length) main.volume.description += ` [dcm2niix also wrote: ${rest.map((r) => r.name).join(', ')}]`;
  return main.volume;
};

/**
 * decodeSeries from the files of one series alone (what a compute worker receives): their headers are parsed
 * again there, so the reader chosen and every error are the same as on the scanning thread.
 */
export async function decodeSeriesFiles(files: DicomFileInput[], label: string): Promise<Volume> {
  const headers = files.map((f) => {
    const h = readHeader(f);
    if (!h?.hasPixelData) throw new InputError(f.path ?? f.name, 'holds no DICOM image');
    return h;
  });
  const series = groupSeries(headers);
  if (series.length !== 1) throw new InputError(label, `the files given as one series hold ${series.length} series`);
  return decodeSeries(series[0], label);
}
