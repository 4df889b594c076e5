import type { SeriesSummary } from './series-summary.js';
import { UNCOMPRESSED_SYNTAXES, type DicomHeader } from './header.js';

export interface DicomSeries {
  uid: string;
  headers: DicomHeader[];
  summary: SeriesSummary;
}

/** Groups image files by SeriesInstanceUID, in series-number order. Files without pixel data are left out. */
export function groupSeries(headers: DicomHeader[]): DicomSeries[] {
  const byUid = new Map<string, DicomHeader[]>();
  for (const h of headers) {
    if (!h.hasPixelData) continue;
    const uid = h.seriesInstanceUid || '(no SeriesInstanceUID)';
    const list = byUid.get(uid) ?? [];
    list.push(h);
    byUid.set(uid, list);
  }
  const series = [...byUid.entries()].map(([uid, hs]) => ({ uid, headers: hs, summary: summarise(uid, hs) }));
  series.sort((a, b) => (a.summary.seriesNumber ?? 1e9) - (b.summary.seriesNumber ?? 1e9) || a.uid.localeCompare(b.uid));
  return series;
}

function summarise(uid: string, hs: DicomHeader[]): SeriesSummary {
  const first = hs[0];
  const { reader, reason } = chooseReader(hs);
  return {
    seriesInstanceUid: uid,
    description: first.seriesDescription,
    modality: first.modality,
    seriesNumber: first.seriesNumber,
    files: hs.length,
    frames: hs.reduce((n, h) => n + h.frames, 0),
    rows: first.rows,
    columns: first.columns,
    reader,
    readerReason: reason,
  };
}

/**
 * Classic single-frame, uncompressed series are read natively (exact, fast, keeps per-file provenance
 * for DICOM-SEG). Anything whose slices are not one-image-per-file in plain pixel data goes through
 * dcm2niix, the field's reference converter, instead of being guessed at: the native reader once
 * misread a Siemens mosaic as two slices.
 */
export function chooseReader(hs: DicomHeader[]): { reader: 'dicom-parser' | 'dcm2niix'; reason: string } {
  if (hs.some((h) => h.mosaic)) return { reader: 'dcm2niix', reason: 'Siemens mosaic (slices tiled in one image)' };
  if (hs.some((h) => h.frames > 1)) return { reader: 'dcm2niix', reason: 'enhanced multi-frame file' };
  const compressed = hs.find((h) => !UNCOMPRESSED_SYNTAXES.has(h.transferSyntax) && h.transferSyntax !== '');
  if (compressed) return { reader: 'dcm2niix', reason: `compressed pixel data (transfer syntax ${compressed.transferSyntax})` };
  if (hs.some((h) => h.samplesPerPixel !== 1)) return { reader: 'dcm2niix', reason: 'colour (multi-sample) pixels' };
  const positions = new Set(hs.map((h) => (h.position ?? []).map((v) => v.toFixed(3)).join(',')));
  if (positions.size < hs.length) {
    return { reader: 'dcm2niix', reason: 'several images per slice position (echoes or time points)' };
  }
  if (hs.some((h) => !h.position || !h.orientation || !h.pixelSpacing)) {
    return { reader: 'dcm2niix', reason: 'slice geometry tags missing in some files' };
  }
  return { reader: 'dicom-parser', reason: 'classic single-frame series' };
}

/**
 * Whether dcm2niix may make several volumes of the series, from what the headers show: files that differ in echo
 * or in image type (magnitude and phase, a derived ADC or trace beside the diffusion images), or enhanced files,
 * which keep those per frame where the header reader does not look. The native reader makes one volume; a mosaic
 * or classic series whose files differ in neither is a single (3D or 4D) volume.
 */
export function mayMakeSeveralVolumes(series: DicomSeries): boolean {
  if (series.summary.reader !== 'dcm2niix') return false;
  const hs = series.headers;
  return hs.some((h) => h.frames > 1) || new Set(hs.map((h) => h.echoNumber)).size > 1 || new Set(hs.map((h) => h.imageType.join('\\'))).size > 1;
}
