import type { Volume } from '../volume.js';
import { buildClassicVolume } from './classic.js';
import { runDcm2niix } from './dcm2niix.js';
import type { PixelHeader } from './header.js';
import type { DicomSeries } from './series.js';
import type { SeriesSummary } from './types.js';

/**
 * Turns one series of a scan into a volume. The default runs on the calling thread; the workstation and the
 * CLI pass one that runs in a compute worker (compute/dicom-decode.ts), which this floor cannot import.
 */
export type SeriesDecoder = (series: DicomSeries, label: string, signal?: AbortSignal) => Promise<Volume>;

/** The series' pixels assembled here. */
export const decodeSeries: SeriesDecoder = (series, label) => decodeHeaders(series.headers, series.summary.reader, label);

/**
 * A series from its headers (no parsed data sets needed: a compute worker gets the headers as plain data and the
 * file bytes, and does not parse again): natively for classic series, by dcm2niix for the rest (series.ts says why).
 */
export async function decodeHeaders(headers: PixelHeader[], reader: SeriesSummary['reader'], label: string): Promise<Volume> {
  if (reader === 'dicom-parser') return buildClassicVolume(headers, label);
  const result = await runDcm2niix(headers, label);
  // dcm2niix splits a series only by echo or image type; the first output is the one a user means
  // by "the series" (the magnitude / first echo). The others are named in the description.
  const [main, ...rest] = result.volumes;
  if (rest.length) main.volume.description += ` [dcm2niix also wrote: ${rest.map((r) => r.name).join(', ')}]`;
  return main.volume;
}
