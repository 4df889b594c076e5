import { InputError } from '../../common/errors.js';
import type { SeriesSummary } from './types.js';
import type { Volume } from '../volume.js';
import { buildClassicVolume } from './classic.js';
import { runDcm2niix } from './dcm2niix.js';
import { inflate, readFolderFiles, type DicomFileInput } from './files.js';
import { readHeader } from './header.js';
import { groupSeries, type DicomSeries } from './series.js';

export type { DicomFileInput } from './files.js';
export type { DicomSeries } from './series.js';

export type Progress = (stage: string, fraction: number | null, message: string) => void;

export interface DicomScan {
  label: string;
  series: DicomSeries[];
  /** Files that were not DICOM or held no image. */
  skipped: string[];
}

/** Reads and groups a folder from disk. */
export async function scanDicomFolder(dir: string, progress?: Progress, signal?: AbortSignal): Promise<DicomScan> {
  const files = await readFolderFiles(dir, (done, total) => {
    signal?.throwIfAborted();
    if (done % 16 === 0 || done === total) progress?.('scan', done / total, `Reading ${done}/${total} files`);
  });
  return scanDicomFiles(files, dir, progress, signal);
}

/** Groups already-read files (uploads from the browser host, or a folder read above). */
export async function scanDicomFiles(
  files: DicomFileInput[] | { name: string; data: Uint8Array }[],
  label: string,
  progress?: Progress,
  signal?: AbortSignal,
): Promise<DicomScan> {
  const skipped: string[] = [];
  const headers = [];
  for (let n = 0; n < files.length; n++) {
    const f = files[n];
    const input = 'gunzipped' in f ? f : inflate(f);
    const h = readHeader(input);
    if (!h || !h.hasPixelData) skipped.push(f.name);
    else headers.push(h);
    // Parsing is synchronous: yield now and then so progress reaches the window and Cancel is heard.
    if (n % 32 === 31 || n === files.length - 1) {
      progress?.('parse', (n + 1) / files.length, `Reading headers ${n + 1}/${files.length}`);
      await new Promise((r) => setImmediate(r));
      signal?.throwIfAborted();
    }
  }
  if (headers.length === 0) {
    throw new InputError(label, `no DICOM images found (${files.length} file${files.length === 1 ? '' : 's'}, none a DICOM image)`);
  }
  return { label, series: groupSeries(headers), skipped };
}

export function seriesSummaries(scan: DicomScan): SeriesSummary[] {
  return scan.series.map((s) => s.summary);
}

/**
 * The series the caller named, or the only one. Several series and no choice is an error that lists
 * them, so a CLI user can copy a UID and the UI can show the picker instead.
 */
export function selectSeries(scan: DicomScan, seriesUid: string | undefined, howToPick = 'pick one with --series UID'): DicomSeries {
  if (seriesUid) {
    const series = scan.series.find((s) => s.uid === seriesUid);
    if (!series) throw new InputError(scan.label, `has no series with SeriesInstanceUID ${seriesUid}`);
    return series;
  }
  if (scan.series.length === 1) return scan.series[0];
  const list = scan.series.map((s) => `#${s.summary.seriesNumber ?? '?'} "${s.summary.description}" ${s.uid}`).join('; ');
  throw new InputError(scan.label, `holds ${scan.series.length} series; ${howToPick}: ${list}`, 'several-series');
}

/** Imports one series of a scan. With several series and no choice, the caller must ask the user. */
export async function importSeries(scan: DicomScan, seriesUid: string | undefined, progress?: Progress): Promise<Volume> {
  const series = selectSeries(scan, seriesUid);
  const { reader, readerReason } = series.summary;
  progress?.('convert', null, `Importing ${series.summary.description || series.uid} with ${reader} (${readerReason})`);
  if (reader === 'dicom-parser') return buildClassicVolume(series.headers, scan.label);
  const result = await runDcm2niix(series.headers, scan.label);
  // dcm2niix splits a series only by echo or image type; the first output is the one a user means
  // by "the series" (the magnitude / first echo). The others are named in the description.
  const [main, ...rest] = result.volumes;
  if (rest.length) main.volume.description += ` [dcm2niix also wrote: ${rest.map((r) => r.name).join(', ')}]`;
  return main.volume;
}
