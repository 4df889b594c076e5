import dcmjs, { type NaturalDataset } from 'dcmjs';
import dicomParser from 'dicom-parser';
import { InputError } from '../../common/errors.js';
import type { LabelEntry } from '../volume.js';
import type { DicomFileInput } from './files.js';
import type { DicomHeader } from './header.js';
import type { Plane } from './plane.js';
import { concatBytes } from '../../util/bytes.js';

export const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';

export function isSegHeader(h: Pick<DicomHeader, 'sopClassUid'>): boolean {
  return h.sopClassUid === SEG_SOP_CLASS;
}

/** The series a SEG says it was drawn on (ReferencedSeriesSequence), read from the header alone. */
export function segReferencedSeries(h: DicomHeader): string[] {
  const items = h.dataSet.elements.x00081115?.items ?? [];
  return items.map((i) => (i.dataSet?.string('x0020000e') ?? '').trim()).filter(Boolean);
}

/**
 * Our exports record each segment's mask value in SegmentDescription, since a binary SEG has no place
 * for it and FreeSurfer-style values (17, 53) are what the user's tools expect back.
 */
export const labelValueNote = (value: number) => `label value ${value}`;
const LABEL_VALUE_NOTE = /^label value (\d+)$/;

export interface SegSegment extends LabelEntry {
  /** SegmentNumber. */
  number: number;
  /** SegmentedPropertyType's meaning ("Hippocampus"), when coded. */
  property?: string;
  /** The voxel value our own export recorded for it, when present. */
  recordedValue?: number;
}

export interface SegFrame {
  segment: number;
  /** The frame's own plane, when the SEG gives one (PlanePositionSequence + orientation + spacing). */
  plane?: Plane;
  /** The source image it was drawn on (DerivationImageSequence), when given. */
  source?: { sopInstanceUid: string; frame?: number };
}

export interface SegDocument {
  /** File name for messages. */
  label: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  studyInstanceUid: string;
  seriesDescription: string;
  frameOfReferenceUid: string;
  referencedSeries: string[];
  type: 'BINARY' | 'FRACTIONAL';
  rows: number;
  columns: number;
  segments: SegSegment[];
  frames: SegFrame[];
  /** Whether pixel p of frame f (0-based) belongs to the frame's segment. */
  inside(frame: number, pixel: number): boolean;
}

const NATIVE_SYNTAXES = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']);

/** Reads a DICOM Segmentation with dcmjs; anything else, or a SEG this reader cannot place, is refused naming the file. */
export function readSeg(file: DicomFileInput): SegDocument {
  const label = file.path ?? file.name;
  let ds: NaturalDataset;
  let syntax: string;
  // dcmjs zero-fills pixel data that a truncated file cuts short, which would silently drop voxels;
  // dicom-parser refuses such a file, so it reads the structure first.
  try {
    dicomParser.parseDicom(file.data);
  } catch (err) {
    const why = err instanceof Error ? err.message : typeof err === 'string' ? err : 'its elements run past the end of the file';
    throw new InputError(label, `not a readable DICOM file (damaged or truncated: ${why})`, 'not-seg');
  }
  try {
    const d = file.data;
    const dict = dcmjs.data.DicomMessage.readFile(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength) as ArrayBuffer);
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
    syntax = String((dict.meta['00020010'] as { Value?: string[] } | undefined)?.Value?.[0] ?? '');
  } catch (err) {
    throw new InputError(label, `not a readable DICOM file (${(err as Error).message})`, 'not-seg');
  }
  if (ds.SOPClassUID !== SEG_SOP_CLASS) {
    throw new InputError(label, `is not a DICOM-SEG (SOP class ${ds.SOPClassUID ?? 'missing'}, modality ${ds.Modality ?? 'missing'})`, 'not-seg');
  }
  const type = String(ds.SegmentationType ?? '');
  if (type !== 'BINARY' && type !== 'FRACTIONAL') {
    throw new InputError(label, `SegmentationType ${type || '(missing)'} is not supported (only BINARY and FRACTIONAL)`);
  }
  if (!NATIVE_SYNTAXES.has(syntax)) {
    throw new InputError(label, `compressed pixel data (transfer syntax ${syntax}) is not supported; store the SEG uncompressed (e.g. dcmconv +te)`);
  }
  const rows = Number(ds.Rows);
  const columns = Number(ds.Columns);
  const nFrames = Number(ds.NumberOfFrames ?? 1);
  const bits = Number(ds.BitsAllocated);
  if (!(rows > 0 && columns > 0 && nFrames > 0))
    throw new InputError(label, `has no frames (Rows ${ds.Rows}, Columns ${ds.Columns}, NumberOfFrames ${ds.NumberOfFrames})`);
  if (type === 'BINARY' && bits !== 1) throw new InputError(label, `a BINARY SEG must have BitsAllocated 1, this one has ${bits}`);
  if (type === 'FRACTIONAL' && bits !== 8) throw new InputError(label, `a FRACTIONAL SEG must have BitsAllocated 8, this one has ${bits}`);

  const pixels = concatPixels(ds.PixelData);
  const perFrame = rows * columns;
  const needed = type === 'BINARY' ? Math.ceil((perFrame * nFrames) / 8) : perFrame * nFrames;
  if (pixels.length < needed)
    throw new InputError(label, `pixel data is truncated: ${pixels.length} bytes for ${nFrames} frames of ${columns}×${rows} (needs ${needed})`);
  // Fractional values are probabilities or occupancies; a voxel belongs to the segment from 50 % up.
  const half = Number(ds.MaximumFractionalValue ?? 255) / 2;
  const inside =
    type === 'BINARY'
      ? (f: number, p: number) => {
          // Frames follow one another bit by bit, with no padding to a byte between them.
          const bit = f * perFrame + p;
          return ((pixels[bit >> 3] >> (bit & 7)) & 1) === 1;
        }
      : (f: number, p: number) => pixels[f * perFrame + p] >= half;

  const segments = list(ds.SegmentSequence).map((s) => readSegment(s, label));
  if (segments.length === 0) throw new InputError(label, 'has no segments (SegmentSequence is empty)');
  const shared = first(ds.SharedFunctionalGroupsSequence) ?? {};
  const perFrameGroups = list(ds.PerFrameFunctionalGroupsSequence);
  if (perFrameGroups.length !== nFrames) throw new InputError(label, `has ${nFrames} frames but ${perFrameGroups.length} per-frame functional groups`);
  const numbers = new Set(segments.map((s) => s.number));
  const frames = perFrameGroups.map((fg, n) => {
    const frame = readFrame(fg, shared);
    if (frame.segment === undefined && segments.length === 1) frame.segment = segments[0].number;
    if (frame.segment === undefined || !numbers.has(frame.segment)) {
      throw new InputError(label, `frame ${n + 1} names segment ${frame.segment ?? '(none)'}, which SegmentSequence does not define`);
    }
    return frame as SegFrame;
  });
  return {
    label,
    sopInstanceUid: String(ds.SOPInstanceUID ?? ''),
    seriesInstanceUid: String(ds.SeriesInstanceUID ?? ''),
    studyInstanceUid: String(ds.StudyInstanceUID ?? ''),
    seriesDescription: String(ds.SeriesDescription ?? ''),
    frameOfReferenceUid: String(ds.FrameOfReferenceUID ?? ''),
    referencedSeries: list(ds.ReferencedSeriesSequence)
      .map((r) => String(r.SeriesInstanceUID ?? ''))
      .filter(Boolean),
    type,
    rows,
    columns,
    segments,
    frames,
    inside,
  };
}

function readSegment(s: NaturalDataset, label: string): SegSegment {
  const number = Number(s.SegmentNumber);
  if (!Number.isInteger(number) || number < 1) throw new InputError(label, `a segment has SegmentNumber ${s.SegmentNumber ?? '(missing)'}`);
  const lab = values(s.RecommendedDisplayCIELabValue);
  const description = s.SegmentDescription === undefined ? undefined : String(s.SegmentDescription);
  const recorded = description ? LABEL_VALUE_NOTE.exec(description.trim()) : null;
  return {
    number,
    value: number,
    name: String(s.SegmentLabel ?? '').trim() || `Segment ${number}`,
    color: lab.length === 3 ? dicomLabToRgb(lab as [number, number, number]) : fallbackColour(number),
    ...(description && !recorded ? { description } : {}),
    ...(first(s.SegmentedPropertyTypeCodeSequence)?.CodeMeaning ? { property: String(first(s.SegmentedPropertyTypeCodeSequence)!.CodeMeaning) } : {}),
    ...(recorded ? { recordedValue: Number(recorded[1]) } : {}),
  };
}

function readFrame(fg: NaturalDataset, shared: NaturalDataset): Partial<SegFrame> {
  const group = (key: string) => first(fg[key]) ?? first(shared[key]);
  const segment = group('SegmentIdentificationSequence')?.ReferencedSegmentNumber;
  const position = values(first(fg.PlanePositionSequence)?.ImagePositionPatient);
  const orientation = values(group('PlaneOrientationSequence')?.ImageOrientationPatient);
  const spacing = values(group('PixelMeasuresSequence')?.PixelSpacing);
  const frame: Partial<SegFrame> = { segment: segment === undefined ? undefined : Number(segment) };
  if (position.length === 3 && orientation.length === 6 && spacing.length === 2) frame.plane = { position, orientation, spacing };
  // Only a frame's own derivation names its source: a shared one would put every frame on one image.
  const src = first(first(fg.DerivationImageSequence)?.SourceImageSequence);
  if (src?.ReferencedSOPInstanceUID) {
    const f = values(src.ReferencedFrameNumber);
    frame.source = { sopInstanceUid: String(src.ReferencedSOPInstanceUID), ...(f.length ? { frame: f[0] } : {}) };
  }
  return frame;
}

/** dcmjs gives native pixel data as one or more ArrayBuffers. */
function concatPixels(data: unknown): Uint8Array {
  const parts = (Array.isArray(data) ? data : [data]).filter(Boolean).map((b) => (b instanceof Uint8Array ? b : new Uint8Array(b as ArrayBuffer)));
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

/** A naturalized sequence holds one item as an object or as an array, depending on who wrote it. */
function list(seq: unknown): NaturalDataset[] {
  if (Array.isArray(seq)) return seq as NaturalDataset[];
  return seq ? [seq as NaturalDataset] : [];
}

function first(seq: unknown): NaturalDataset | undefined {
  return list(seq)[0];
}

function values(v: unknown): number[] {
  if (v === undefined || v === null || v === '') return [];
  return (Array.isArray(v) ? v : [v]).map(Number).filter(Number.isFinite);
}

/**
 * RecommendedDisplayCIELabValue (PS3.3 C.10.7.1.1: L* 0..100, a* and b* −128..127, each scaled to
 * 0..65535) to 8-bit sRGB, through XYZ with the D65 white point.
 */
export function dicomLabToRgb(lab: [number, number, number]): [number, number, number] {
  const L = (lab[0] / 65535) * 100;
  const a = (lab[1] / 65535) * 255 - 128;
  const b = (lab[2] / 65535) * 255 - 128;
  const fy = (L + 16) / 116;
  const fx = fy + a / 500;
  const fz = fy - b / 200;
  const finv = (t: number) => (t > 6 / 29 ? t ** 3 : (108 / 841) * (t - 4 / 29));
  const [X, Y, Z] = [0.95047 * finv(fx), finv(fy), 1.08883 * finv(fz)];
  const lin = [3.2406 * X - 1.5372 * Y - 0.4986 * Z, -0.9689 * X + 1.8758 * Y + 0.0415 * Z, 0.0557 * X - 0.204 * Y + 1.057 * Z];
  const gamma = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
  return lin.map((c) => Math.max(0, Math.min(255, Math.round(gamma(Math.max(0, Math.min(1, c))) * 255)))) as [number, number, number];
}

/** A colour for a segment without a recommended one: golden-angle hues keep neighbours apart. */
function fallbackColour(n: number): [number, number, number] {
  const h = ((n * 137.508) % 360) / 60;
  const x = 1 - Math.abs((h % 2) - 1);
  const [r, g, b] = h < 1 ? [1, x, 0] : h < 2 ? [x, 1, 0] : h < 3 ? [0, 1, x] : h < 4 ? [0, x, 1] : h < 5 ? [x, 0, 1] : [1, 0, x];
  return [r, g, b].map((c) => Math.round(64 + c * 191)) as [number, number, number];
}
