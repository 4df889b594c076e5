import dicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { InputError } from '../../common/errors.js';
import type { DicomFileInput } from './files.js';

/** The header fields the importer needs from one file, read once with dicom-parser. */
export interface DicomHeader {
  file: DicomFileInput;
  dataSet: DataSet;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  seriesNumber: number | null;
  seriesDescription: string;
  modality: string;
  transferSyntax: string;
  rows: number;
  columns: number;
  frames: number;
  bitsAllocated: number;
  pixelRepresentation: number;
  samplesPerPixel: number;
  imageType: string[];
  /** ImagePositionPatient, LPS mm; null when absent (enhanced files keep it per frame). */
  position: [number, number, number] | null;
  /** ImageOrientationPatient: row cosines then column cosines. */
  orientation: [number, number, number, number, number, number] | null;
  /** PixelSpacing: [between rows, between columns]. */
  pixelSpacing: [number, number] | null;
  sliceThickness: number | null;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Philips private "scale slope" (2005,100E), used for precise floating-point values. */
  philipsScaleSlope: number | null;
  instanceNumber: number | null;
  echoNumber: number | null;
  acquisitionTime: string;
  hasPixelData: boolean;
  /** Where the Pixel Data element's value lies in `file.data` (what the native reader copies slices from). */
  pixelData: { dataOffset: number; length: number } | null;
  /** Siemens mosaic: several slices tiled in one image. */
  mosaic: boolean;
  scanner: Record<string, string | number>;
}

/** A header without its parsed data set: what decoding a series needs, plain data a compute worker can receive. */
export type PixelHeader = Omit<DicomHeader, 'dataSet'>;

/** Returns null for files that are not DICOM (a README, a DICOMDIR without images is kept: it has no pixel data). */
export function readHeader(file: DicomFileInput): DicomHeader | null {
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(file.data);
  } catch (err) {
    // A file with the DICOM preamble that does not parse is a damaged slice, not a stray file:
    // skipping it silently would leave a hole in the series.
    if (hasDicomPreamble(file.data)) {
      throw new InputError(file.path ?? file.name, `damaged DICOM file (${String((err as Error)?.message ?? err)})`);
    }
    return null;
  }
  const s = (tag: string) => (ds.string(tag) ?? '').trim();
  const num = (tag: string): number | null => {
    const v = ds.string(tag);
    if (v === undefined || v.trim() === '') return null;
    const x = Number(v.split('\\')[0]);
    return Number.isFinite(x) ? x : null;
  };
  const nums = (tag: string, n: number): number[] | null => {
    const v = ds.string(tag);
    if (!v) return null;
    const parts = v.split('\\').map(Number);
    return parts.length >= n && parts.slice(0, n).every(Number.isFinite) ? parts.slice(0, n) : null;
  };
  const imageType = s('x00080008').toUpperCase().split('\\');
  const philips = ds.elements.x2005100e ? readFloat(ds, 'x2005100e') : null;
  const scanner: Record<string, string | number> = {};
  for (const [key, tag] of [
    ['manufacturer', 'x00080070'],
    ['model', 'x00081090'],
    ['institution', 'x00080080'],
    ['stationName', 'x00081010'],
    ['protocol', 'x00181030'],
    ['sequence', 'x00180024'],
    // Age and sex for volumetry norms (export/volumetry): kept with the volume like the scanner fields.
    ['patientAge', 'x00101010'],
    ['patientSex', 'x00100040'],
    ['patientBirthDate', 'x00100030'],
    ['studyDate', 'x00080020'],
    // Identifiers the per-scan report shows at its top.
    ['patientId', 'x00100020'],
    ['patientName', 'x00100010'],
    ['accessionNumber', 'x00080050'],
    ['seriesDescription', 'x0008103e'],
  ] as const) {
    const v = s(tag);
    if (v) scanner[key] = v;
  }
  const field = num('x00180087');
  if (field !== null) scanner.fieldStrength = field;
  return {
    file,
    dataSet: ds,
    sopClassUid: s('x00080016'),
    sopInstanceUid: s('x00080018'),
    studyInstanceUid: s('x0020000d'),
    seriesInstanceUid: s('x0020000e'),
    seriesNumber: num('x00200011'),
    seriesDescription: s('x0008103e'),
    modality: s('x00080060'),
    transferSyntax: s('x00020010'),
    rows: ds.uint16('x00280010') ?? 0,
    columns: ds.uint16('x00280011') ?? 0,
    frames: num('x00280008') ?? 1,
    bitsAllocated: ds.uint16('x00280100') ?? 0,
    pixelRepresentation: ds.uint16('x00280103') ?? 0,
    samplesPerPixel: ds.uint16('x00280002') ?? 1,
    imageType,
    position: nums('x00200032', 3) as DicomHeader['position'],
    orientation: nums('x00200037', 6) as DicomHeader['orientation'],
    pixelSpacing: nums('x00280030', 2) as DicomHeader['pixelSpacing'],
    sliceThickness: num('x00180050'),
    rescaleSlope: num('x00281053') ?? 1,
    rescaleIntercept: num('x00281052') ?? 0,
    philipsScaleSlope: philips !== null && Number.isFinite(philips) && philips !== 0 ? philips : null,
    instanceNumber: num('x00200013'),
    echoNumber: num('x00180086'),
    acquisitionTime: s('x00080032'),
    hasPixelData: Boolean(ds.elements.x7fe00010),
    pixelData: ds.elements.x7fe00010 ? { dataOffset: ds.elements.x7fe00010.dataOffset, length: ds.elements.x7fe00010.length } : null,
    mosaic: imageType.includes('MOSAIC') || Boolean(ds.elements.x0019100a),
    scanner,
  };
}

/** Philips stores the private scale slope as FL in explicit files and as raw bytes in implicit ones. */
function readFloat(ds: DataSet, tag: string): number | null {
  const el = ds.elements[tag];
  if (!el) return null;
  if (el.length === 4) return ds.float(tag) ?? null;
  const str = ds.string(tag);
  return str ? Number(str) : null;
}

export const UNCOMPRESSED_SYNTAXES = new Set([
  '1.2.840.10008.1.2', // implicit VR little endian
  '1.2.840.10008.1.2.1', // explicit VR little endian
  '1.2.840.10008.1.2.2', // explicit VR big endian (retired, still seen)
]);

function hasDicomPreamble(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}
