import { InputError } from '../../common/errors.js';
import type { Volume } from '../volume.js';
import { buildClassicVolume } from './classic.js';
import { runDcm2niix } from './dcm2niix.js';
import type { PixelHeader } from './header.js';
import type { DicomSeries } from './series.js';
import type { SeriesSummary } from './series-summary.js';

/**
 * Turns one series of a scan into a volume. The default runs on the calling thread; the workstation and the
 * CLI pass one that runs in a compute worker (compute/dicom-decode.ts), which this floor cannot import.
 */
export type SeriesDecoder = (series: DicomSeries, label: string, signal?: AbortSignal, pick?: string) => Promise<Volume>;

/** The series' pixels assembled here. */
export const decodeSeries: SeriesDecoder = (series, label, _signal, pick) => decodeHeaders(series.headers, series.summary.reader, label, pick);

/**
 * A series from its headers (no parsed data sets needed: a compute worker gets the headers as plain data and the
 * file bytes, and does not parse again): natively for classic series, by dcm2niix for the rest (series.ts says why).
 */
export async function decodeHeaders(headers: PixelHeader[], reader: SeriesSummary['reader'], label: string, pick?: string): Promise<Volume> {
  if (reader === 'dicom-parser') {
    if (pick !== undefined && pick !== '1') throw new InputError(label, `volume ${pick}: this series makes one volume`, 'usage');
    return buildClassicVolume(headers, label);
  }
  const result = await runDcm2niix(headers, label);
  // dcm2niix splits a series by echo, image type, phase/magnitude...; without a pick the first output is the one a
  // user means by "the series" (the magnitude / first echo). Every volume's name travels with it, so any can be asked for.
  const names = result.volumes.map((r) => r.name.replace(/\.nii$/, ''));
  let index = 0;
  if (pick !== undefined) {
    // A name first: a protocol-less series' name may be all digits ("5"), and the picker and batch pick by name.
    index = names.indexOf(pick);
    if (index < 0 && /^\d+$/.test(pick)) index = Number(pick) - 1;
    if (!(index >= 0 && index < names.length))
      throw new InputError(label, `volume ${pick} is not one of this series' ${names.length}: ${names.map((n, i) => `${i + 1} ${n}`).join(', ')}`, 'usage');
  }
  const chosen = result.volumes[index].volume;
  chosen.source.volumes = names;
  chosen.source.volumeIndex = index + 1;
  if (names.length > 1) chosen.description += ` [volume ${index + 1} of ${names.length}: ${names[index]}]`;
  return chosen;
}
