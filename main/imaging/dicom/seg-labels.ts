import type { DataSet } from 'dicom-parser';
import { InputError } from '../../common/errors.js';
import type { LabelEntry, Volume } from '../volume.js';
import type { DicomHeader } from './header.js';
import { planeOnGrid, planeStrides, type Plane } from './plane.js';
import type { SegDocument } from './seg.js';

export interface SegSegmentSummary extends LabelEntry {
  number: number;
  /** Voxels the SEG gives the segment (before overlaps are resolved). */
  voxels: number;
  frames: number;
  property?: string;
}

export interface SegLabelMap {
  /** The label map on the reference's grid: segment N has value N, or the value our export recorded. */
  volume: Volume;
  segments: SegSegmentSummary[];
  /** Voxels claimed by two or more segments; the higher segment number wins there. */
  overlapVoxels: number;
  /** How the frames were placed: through the source images they reference, or through their own plane positions. */
  placedBy: 'source images' | 'plane positions' | 'source images and plane positions';
  valuesFrom: 'recorded values' | 'segment numbers';
}

export interface SegReference {
  /** Folder (or upload) the series came from, for messages. */
  label: string;
  uid: string;
  headers: DicomHeader[];
}

/**
 * Draws a SEG's segments as one label map on the grid of the series it references (`grid`, that series
 * as imported). Frames that name their source image are placed where that image lies; frames that do not
 * are placed by their own ImagePositionPatient. Either way a frame must land exactly on voxels of the grid.
 */
export function segToLabelMap(seg: SegDocument, reference: SegReference, grid: Volume): SegLabelMap {
  if (seg.referencedSeries.length && !seg.referencedSeries.includes(reference.uid)) {
    throw new InputError(seg.label, `references series ${seg.referencedSeries.join(', ')}, not series ${reference.uid} of ${reference.label}`, 'seg-reference');
  }
  const planes = referencePlanes(reference.headers);
  const refFor = reference.headers[0]?.dataSet.string('x00200052')?.trim() ?? '';
  if (seg.frameOfReferenceUid && refFor && seg.frameOfReferenceUid !== refFor) {
    throw new InputError(
      seg.label,
      `FrameOfReferenceUID ${seg.frameOfReferenceUid} differs from that of series ${reference.uid} (${refFor}): the SEG was not drawn in its space`,
      'seg-reference',
    );
  }
  const { rows, columns } = seg;
  const dims = [grid.dims[0], grid.dims[1] ?? 1, grid.dims[2] ?? 1];
  const n = dims[0] * dims[1] * dims[2];
  const owner = new Uint16Array(n);
  const overlapped = new Uint8Array(n);
  let overlapVoxels = 0;
  const counts = new Map<number, { voxels: number; frames: number }>(seg.segments.map((s) => [s.number, { voxels: 0, frames: 0 }]));
  const used = { source: false, plane: false };
  // Ascending segment numbers, so that where segments overlap the higher number is written last.
  const order = seg.frames.map((f, i) => i).sort((a, b) => seg.frames[a].segment - seg.frames[b].segment || a - b);
  for (const f of order) {
    const frame = seg.frames[f];
    const plane = framePlane(seg, f, planes, reference, used);
    const placed = planeOnGrid(plane, rows, columns, { dims, affine: grid.affine });
    if (typeof placed === 'string') {
      throw new InputError(seg.label, `frame ${f + 1} does not fit the grid of series ${reference.uid}: ${placed}`, 'grid-mismatch');
    }
    const { base, sx, sy } = planeStrides(placed, dims);
    const s = frame.segment;
    const count = counts.get(s)!;
    count.frames++;
    for (let r = 0; r < rows; r++) {
      let v = base + r * sy;
      for (let c = 0; c < columns; c++, v += sx) {
        if (!seg.inside(f, r * columns + c) || owner[v] === s) continue;
        if (owner[v] !== 0 && !overlapped[v]) {
          overlapped[v] = 1;
          overlapVoxels++;
        }
        owner[v] = s;
        count.voxels++;
      }
    }
  }

  const recorded = seg.segments.map((s) => s.recordedValue);
  const useRecorded = recorded.every((v) => v !== undefined && v > 0 && v <= 65535) && new Set(recorded).size === recorded.length;
  const valueOf = new Map(seg.segments.map((s) => [s.number, useRecorded ? s.recordedValue! : s.number]));
  const max = Math.max(...valueOf.values());
  const data = max <= 255 ? new Uint8Array(n) : new Uint16Array(n);
  const lut = new Uint16Array(Math.max(...seg.segments.map((s) => s.number)) + 1);
  for (const [num, value] of valueOf) lut[num] = value;
  for (let v = 0; v < n; v++) if (owner[v]) data[v] = lut[owner[v]];

  const segments = seg.segments.map((s) => ({
    number: s.number,
    value: valueOf.get(s.number)!,
    name: s.name,
    color: s.color,
    ...(s.description ? { description: s.description } : {}),
    ...(s.property ? { property: s.property } : {}),
    ...counts.get(s.number)!,
  }));
  const labels: LabelEntry[] = segments.map((s) => ({
    value: s.value,
    name: s.name,
    color: s.color,
    ...(s.description ? { description: s.description } : {}),
  }));
  const volume: Volume = {
    dims,
    spacing: grid.spacing.slice(0, 3),
    affine: grid.affine.map((row) => [...row]),
    data,
    slope: 1,
    intercept: 0,
    description: seg.seriesDescription || 'DICOM-SEG',
    source: {
      kind: 'dicom',
      path: seg.label,
      reader: 'DICOM-SEG (dcmjs)',
      seriesInstanceUid: seg.seriesInstanceUid,
      studyInstanceUid: seg.studyInstanceUid,
      ...(overlapVoxels ? { note: `${overlapVoxels} voxels belong to several segments; the higher segment number is shown` } : {}),
    },
    ...(grid.xformCodes ? { xformCodes: grid.xformCodes } : {}),
    labels,
  };
  const placedBy = used.source && used.plane ? 'source images and plane positions' : used.source ? 'source images' : 'plane positions';
  return { volume, segments, overlapVoxels, placedBy, valuesFrom: useRecorded ? 'recorded values' : 'segment numbers' };
}

/** Positions within this fraction of a pixel count as the same place (DS rounding of the two writers). */
const SAME_PLACE = 0.05;

function framePlane(seg: SegDocument, f: number, planes: Map<string, SourceImage>, reference: SegReference, used: { source: boolean; plane: boolean }): Plane {
  const frame = seg.frames[f];
  if (frame.source) {
    const image = planes.get(frame.source.sopInstanceUid);
    if (!image) {
      throw new InputError(
        seg.label,
        `frame ${f + 1} references image ${frame.source.sopInstanceUid}, which is not in series ${reference.uid} of ${reference.label}`,
        'seg-reference',
      );
    }
    const plane = image.planes[(frame.source.frame ?? 1) - 1];
    const where = `frame ${f + 1} references ${frame.source.frame ? `frame ${frame.source.frame} of ` : ''}image ${frame.source.sopInstanceUid}`;
    if (!plane) throw new InputError(seg.label, `${where}, which has ${image.planes.length} frame(s)`, 'seg-reference');
    if (plane.position.length !== 3 || plane.orientation.length !== 6 || plane.spacing.length !== 2)
      throw new InputError(seg.label, `${where}, which has no position, orientation or pixel spacing`);
    if (image.rows !== seg.rows || image.columns !== seg.columns) {
      throw new InputError(
        seg.label,
        `${where}, which is ${image.columns}×${image.rows} pixels; the SEG's frames are ${seg.columns}×${seg.rows}`,
        'grid-mismatch',
      );
    }
    const own = frame.plane;
    if (own) {
      const off = Math.hypot(...[0, 1, 2].map((a) => Number(own.position[a]) - Number(plane.position[a])));
      if (off > SAME_PLACE * Math.min(...plane.spacing.map(Number))) {
        throw new InputError(
          seg.label,
          `frame ${f + 1} lies ${off.toFixed(2)} mm away from the image it references (${frame.source.sopInstanceUid})`,
          'grid-mismatch',
        );
      }
    }
    used.source = true;
    return plane;
  }
  if (!frame.plane) throw new InputError(seg.label, `frame ${f + 1} has neither a source image reference nor a plane position, orientation and pixel spacing`);
  used.plane = true;
  return frame.plane;
}

interface SourceImage {
  rows: number;
  columns: number;
  planes: Plane[];
}

/** Each image of the series, by SOPInstanceUID, with where its frame(s) lie. */
function referencePlanes(headers: DicomHeader[]): Map<string, SourceImage> {
  const out = new Map<string, SourceImage>();
  for (const h of headers) {
    const planes = h.frames > 1 ? enhancedPlanes(h.dataSet) : [{ position: h.position ?? [], orientation: h.orientation ?? [], spacing: h.pixelSpacing ?? [] }];
    out.set(h.sopInstanceUid, { rows: h.rows, columns: h.columns, planes });
  }
  return out;
}

/** Per-frame planes of an enhanced multi-frame image (functional groups, shared ones as the fallback). */
function enhancedPlanes(ds: DataSet): Plane[] {
  const item = (set: DataSet | undefined, tag: string) => set?.elements[tag]?.items?.[0]?.dataSet;
  const nums = (s: string | undefined) => (s ? s.split('\\').map(Number) : []);
  const shared = item(ds, 'x52009229');
  const out: Plane[] = [];
  for (const it of ds.elements.x52009230?.items ?? []) {
    const fg = it.dataSet;
    const group = (tag: string) => item(fg, tag) ?? item(shared, tag);
    const position = nums(item(fg, 'x00209113')?.string('x00200032'));
    const orientation = nums(group('x00209116')?.string('x00200037'));
    const spacing = nums(group('x00289110')?.string('x00280030'));
    out.push({ position, orientation, spacing });
  }
  return out;
}
