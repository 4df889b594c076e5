import { performance } from 'node:perf_hooks';
import { InputError } from '../../common/errors.js';
import type { SeriesSummary } from './series-summary.js';
import type { Volume } from '../volume.js';
import { decodeSeries, type SeriesDecoder } from './decode.js';
import { inflate, readFolderFiles, type DicomFileInput } from './files.js';
import { readHeader } from './header.js';
import { groupSeries, mayMakeSeveralVolumes, type DicomSeries } from './series.js';
import { isSegHeader, readSeg, segReferencedSeries, type SegDocument } from './seg.js';
import { segToLabelMap, type SegLabelMap } from './seg-labels.js';
import type { DicomHeader } from './header.js';

export type { DicomFileInput } from './files.js';
export { decodeSeries, decodeHeaders, type SeriesDecoder } from './decode.js';
export { readDicomFile } from './files.js';
export type { DicomSeries } from './series.js';
export type { SegDocument, SegSegment } from './seg.js';
export type { SegLabelMap, SegSegmentSummary } from './seg-labels.js';
export { segToLabelMap } from './seg-labels.js';
export { readSeg, isSegHeader, segReferencedSeries, SEG_SOP_CLASS, labelValueNote, dicomLabToRgb } from './seg.js';

export type Progress = (stage: string, fraction: number | null, message: string) => void;

export interface DicomScan {
  label: string;
  /** Image series; DICOM-SEG files are not among them (a SEG is not an image to view on its own). */
  series: DicomSeries[];
  /** DICOM-SEG files found beside the series, opened as label overlays on the series they reference. */
  segs: DicomHeader[];
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

/** Longest stretch of header parsing between two yields to the event loop. */
const YIELD_MS = 8;

/** Groups already-read files (uploads from the browser host, or a folder read above). */
export async function scanDicomFiles(
  files: DicomFileInput[] | { name: string; data: Uint8Array }[],
  label: string,
  progress?: Progress,
  signal?: AbortSignal,
): Promise<DicomScan> {
  const skipped: string[] = [];
  const headers = [];
  const segs: DicomHeader[] = [];
  let since = performance.now();
  for (let n = 0; n < files.length; n++) {
    const f = files[n];
    const input = 'gunzipped' in f ? f : await inflate(f);
    const h = readHeader(input);
    if (!h || !h.hasPixelData) skipped.push(f.name);
    else if (isSegHeader(h)) segs.push(h);
    else headers.push(h);
    // Parsing is synchronous: yield every few milliseconds (the host answers its other calls meanwhile; a
    // count of files would let large or slow-to-parse files hold it longer) and report every 32 files.
    const report = n % 32 === 31 || n === files.length - 1;
    if (report) progress?.('parse', (n + 1) / files.length, `Reading headers ${n + 1}/${files.length}`);
    if (report || performance.now() - since > YIELD_MS) {
      await new Promise((r) => setImmediate(r));
      signal?.throwIfAborted();
      since = performance.now();
    }
  }
  if (headers.length === 0 && segs.length === 0) {
    throw new InputError(label, `no DICOM images found (${files.length} file${files.length === 1 ? '' : 's'}, none a DICOM image)`);
  }
  return { label, series: groupSeries(headers), segs, skipped };
}

export function seriesSummaries(scan: DicomScan): SeriesSummary[] {
  return scan.series.map((s) => s.summary);
}

/**
 * The summaries with, for each series that makes several volumes, their names (`volumes`), so that a picker or a
 * worklist can offer each. Only dcm2niix knows how it splits a series, so a series whose headers say it may split is
 * converted once here and only the names are kept (the voxels are dropped: memory does not grow with the list).
 * A series that cannot be converted is listed as one: opening it says why.
 */
export async function summariesWithVolumes(
  scan: DicomScan,
  decode: SeriesDecoder = decodeSeries,
  signal?: AbortSignal,
  progress?: Progress,
): Promise<SeriesSummary[]> {
  const out: SeriesSummary[] = [];
  for (const s of scan.series) {
    let names: string[] = [];
    if (mayMakeSeveralVolumes(s)) {
      progress?.('convert', null, `Looking for the volumes of ${s.summary.description || s.uid} (dcm2niix)`);
      try {
        names = (await decode(s, scan.label, signal)).source.volumes ?? [];
      } catch (err) {
        if (signal?.aborted) throw err;
      }
    }
    out.push(names.length > 1 ? { ...s.summary, volumes: names } : s.summary);
  }
  return out;
}

/**
 * The series the caller named, or the only one. Several series and no choice is an error that lists
 * them, so a CLI user can copy a UID and the UI can show the picker instead.
 */
export function selectSeries(scan: DicomScan, seriesUid: string | undefined, howToPick = 'pick one with --series UID'): DicomSeries {
  if (scan.series.length === 0) {
    throw new InputError(scan.label, `holds no image series, only ${scan.segs.length} DICOM-SEG file(s); a SEG opens on the series it references`, 'seg-only');
  }
  if (seriesUid) {
    const series = scan.series.find((s) => s.uid === seriesUid);
    if (!series) throw new InputError(scan.label, `has no series with SeriesInstanceUID ${seriesUid}`);
    return series;
  }
  if (scan.series.length === 1) return scan.series[0];
  const list = scan.series.map((s) => `#${s.summary.seriesNumber ?? '?'} "${s.summary.description}" ${s.uid}`).join('; ');
  throw new InputError(scan.label, `holds ${scan.series.length} series; ${howToPick}: ${list}`, 'several-series');
}

/**
 * Imports one series of a scan. With several series and no choice, the caller must ask the user. `decode`
 * decides where the pixels are assembled (this thread unless the caller passes a compute worker's decoder).
 */
export async function importSeries(
  scan: DicomScan,
  seriesUid: string | undefined,
  progress?: Progress,
  decode: SeriesDecoder = decodeSeries,
  signal?: AbortSignal,
  /** Which volume of a series that makes several (name or 1-based number). */
  pick?: string,
): Promise<Volume> {
  const series = selectSeries(scan, seriesUid);
  const { reader, readerReason } = series.summary;
  progress?.('convert', null, `Importing ${series.summary.description || series.uid} with ${reader} (${readerReason})`);
  return decode(series, scan.label, signal, pick);
}

/** The SEGs of a scan drawn on one of its series. */
export function segsOnSeries(scan: DicomScan, seriesUid: string): DicomHeader[] {
  return scan.segs.filter((h) => segReferencedSeries(h).includes(seriesUid));
}

/**
 * The series of `scan` a SEG was drawn on: the one its ReferencedSeriesSequence names, or, for a SEG
 * that names none, the only series of the scan in its frame of reference.
 */
export function referencedSeriesIn(scan: DicomScan, seg: SegDocument): DicomSeries {
  const named = scan.series.find((s) => seg.referencedSeries.includes(s.uid));
  if (named) return named;
  const here = scan.series.length ? `; the series there: ${scan.series.map((s) => s.uid).join(', ')}` : '; it holds no image series';
  if (seg.referencedSeries.length) {
    throw new InputError(seg.label, `its referenced series ${seg.referencedSeries.join(', ')} is not in ${scan.label}${here}`, 'seg-reference');
  }
  const sameSpace = scan.series.filter((s) => (s.headers[0].dataSet.string('x00200052') ?? '').trim() === seg.frameOfReferenceUid);
  if (sameSpace.length === 1) return sameSpace[0];
  throw new InputError(
    seg.label,
    `names no referenced series, and ${sameSpace.length ? 'several' : 'no'} series of ${scan.label} share its frame of reference ${seg.frameOfReferenceUid || '(none)'}${here}`,
    'seg-reference',
  );
}

/** A SEG opened on its referenced series in `scan`: that series imported, and the SEG as a label map on its grid. */
export async function importSegOnScan(
  file: DicomFileInput,
  scan: DicomScan,
  progress?: Progress,
  decode?: SeriesDecoder,
): Promise<{ image: Volume; labelMap: SegLabelMap; seriesUid: string }> {
  const seg = readSeg(file);
  const series = referencedSeriesIn(scan, seg);
  const image = await importSeries(scan, series.uid, progress, decode);
  progress?.('seg', null, `Placing ${seg.frames.length} SEG frames on series ${series.uid}`);
  return { image, labelMap: segToLabelMap(seg, { label: scan.label, uid: series.uid, headers: series.headers }, image), seriesUid: series.uid };
}

/**
 * The SEGs found beside a series, as label maps on its imported grid. A SEG that cannot be placed does
 * not stop the image from opening: its one-line reason is returned instead.
 */
export function segsBesideSeries(scan: DicomScan, image: Volume): { maps: SegLabelMap[]; problems: string[] } {
  const uid = image.source.seriesInstanceUid ?? '';
  const series = scan.series.find((s) => s.uid === uid);
  const maps: SegLabelMap[] = [];
  const problems: string[] = [];
  if (!series) return { maps, problems };
  for (const h of segsOnSeries(scan, uid)) {
    try {
      maps.push(segToLabelMap(readSeg(h.file), { label: scan.label, uid, headers: series.headers }, image));
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  return { maps, problems };
}
