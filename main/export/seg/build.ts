import dcmjs, { type NaturalDataset } from 'dcmjs';
import { InputError } from '../../common/errors.js';
import type { DicomHeader } from '../../imaging/dicom/header.js';
import { labelValueNote } from '../../imaging/dicom/seg.js';
import type { Volume } from '../../imaging/volume.js';
import type { SegmentSpec } from '../types.js';
import { appVersion } from '../../settings/version.js';
import type { DroppedAttribute, SegProvenance } from '../types.js';
import { applySegFixes, dropInvalidCopies } from './fixes.js';
import { algorithmIdentification, algorithmName, codingSchemes, contributingEquipment, EQUIPMENT } from './provenance.js';
import { frameLabels, mapFramesToMask } from './frames.js';
import { displayColourLab, terminologyFor } from './terminology.js';

export { SEG_SOP_CLASS } from '../../imaging/dicom/seg.js';

export type { SegmentSpec } from '../types.js';

export interface SegBuildOptions {
  /** Segments to write; by default one per distinct non-zero mask value, labelled "Label N". */
  segments?: SegmentSpec[];
  seriesDescription?: string;
  seriesNumber?: number;
  /** How the mask was made; default: AUTOMATIC by "Neuroverse3D", nothing else known. */
  provenance?: SegProvenance;
  /** Default: the app's version (package.json). */
  softwareVersion?: string;
}

export interface SegSummary {
  number: number;
  label: string;
  value: number;
  frames: number;
  voxels: number;
  code: string;
}

export interface SegBuildResult {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  frames: number;
  segments: SegSummary[];
  provenance: SegProvenance;
  /** Copied source attributes left out (or emptied) because their values break their VR. */
  dropped: DroppedAttribute[];
}

/**
 * Builds a binary (1 bit) DICOM Segmentation of `mask` on the reference series, with dcmjs: the
 * series is normalized to one multiframe, each segment gets one SEG frame per source frame it touches,
 * and every SEG frame references its source instance (and frame, for enhanced sources).
 */
export function buildSeg(mask: Volume, maskLabel: string, reference: { label: string; headers: DicomHeader[] }, options: SegBuildOptions = {}): SegBuildResult {
  const sources = reference.headers.map((h) => toNatural(h));
  const multi = withQuietDcmjs(() => dcmjs.normalizers.Normalizer.normalizeToDataset(sources));
  if (!multi) throw new InputError(reference.label, `cannot carry a DICOM-SEG: dcmjs has no normalizer for SOP class ${reference.headers[0].sopClassUid}`);
  const rows = Number(multi.Rows);
  const cols = Number(multi.Columns);
  const mapping = mapFramesToMask(multi, mask, maskLabel);

  // Labels per frame are computed once; each segment then picks its value out of them.
  const labels = mapping.map((m) => frameLabels(m, mask, rows, cols));
  const specs = options.segments?.length ? options.segments : defaultSegments(labels);
  checkSpecs(specs, maskLabel);
  const plan = specs.map((s) => {
    const frames: number[] = [];
    let voxels = 0;
    labels.forEach((l, i) => {
      let n = 0;
      for (let p = 0; p < l.length; p++) if (l[p] === s.value) n++;
      if (n) frames.push(i);
      voxels += n;
    });
    if (voxels === 0) throw new InputError(maskLabel, `segment "${s.label}" (value ${s.value}) has no voxels in the mask`);
    return { spec: s, frames, voxels };
  });

  const provenance: SegProvenance = options.provenance ?? { type: 'AUTOMATIC', algorithmName: 'Neuroverse3D' };
  const version = options.softwareVersion ?? appVersion();
  const algorithmId = algorithmIdentification(provenance, version);
  const seg = withQuietDcmjs(
    () =>
      new dcmjs.derivations.Segmentation([multi], {
        includeSliceSpacing: true,
        Manufacturer: EQUIPMENT.manufacturer,
        ManufacturerModelName: EQUIPMENT.model,
        SoftwareVersions: version,
        DeviceSerialNumber: '1',
        SeriesDescription: (options.seriesDescription ?? `SEG ${String(multi.SeriesDescription ?? '')}`).slice(0, 64),
        SeriesNumber: String(options.seriesNumber ?? 1000 + (Number(multi.SeriesNumber) || 0)),
        SeriesDate: dcmjs.data.DicomMetaDictionary.date(),
        SeriesTime: dcmjs.data.DicomMetaDictionary.time(),
        ContentDate: dcmjs.data.DicomMetaDictionary.date(),
        ContentTime: dcmjs.data.DicomMetaDictionary.time(),
        ContentLabel: 'SEGMENTATION',
        ContentDescription: 'Neuroverse segmentation',
        ContentCreatorName: 'Neuroverse^Workstation',
        ImageComments: 'NOT FOR CLINICAL USE',
      }),
  );
  seg.setNumberOfFrames(plan.reduce((n, p) => n + p.frames.length, 0));
  const summaries: SegSummary[] = [];
  plan.forEach((p, i) => {
    const t = terminologyFor(p.spec.label, p.spec.kind);
    const type: NaturalDataset = { ...t.type };
    if (t.modifier) type.SegmentedPropertyTypeModifierCodeSequence = [t.modifier];
    const segment: NaturalDataset = {
      SegmentLabel: p.spec.label.slice(0, 64),
      SegmentedPropertyCategoryCodeSequence: [t.category],
      SegmentedPropertyTypeCodeSequence: [type],
      SegmentAlgorithmType: provenance.type,
      RecommendedDisplayCIELabValue: displayColourLab(i),
      ...(algorithmId ? { SegmentAlgorithmName: algorithmName(provenance) } : {}),
      // Without a description of its own, the segment carries its mask value, so that reading the SEG gives back the same label map.
      SegmentDescription: (p.spec.description ?? labelValueNote(p.spec.value)).slice(0, 64),
    };
    seg.addSegmentFromLabelmap(
      segment,
      p.frames.map((f) => labels[f]),
      p.spec.value,
      p.frames.map((f) => mapping[f].frame),
    );
    // dcmjs copies only the segment attributes it knows; the algorithm's identification is added to its item.
    if (algorithmId) seg.dataset.SegmentSequence.at(-1).SegmentationAlgorithmIdentificationSequence = [algorithmId];
    summaries.push({
      number: i + 1,
      label: p.spec.label,
      value: p.spec.value,
      frames: p.frames.length,
      voxels: p.voxels,
      code: `${t.type.CodingSchemeDesignator} ${t.type.CodeValue} ${t.type.CodeMeaning}`,
    });
  });
  seg.bitPackPixelData();
  applySegFixes(seg.dataset, multi, sources);
  const ds = seg.dataset;
  const dropped = dropInvalidCopies(ds, [sources[0], multi]);
  ds.ContributingEquipmentSequence = [contributingEquipment(provenance, version, new Date())];
  const schemes = codingSchemes(provenance);
  if (schemes.length) ds.CodingSchemeIdentificationSequence = schemes;
  ds._meta = { TransferSyntaxUID: { Value: ['1.2.840.10008.1.2.1'] } };
  ds._vrMap = { PixelData: 'OB' };
  const bytes = new Uint8Array(dcmjs.data.datasetToDict(ds).write());
  return {
    bytes,
    sopInstanceUid: ds.SOPInstanceUID,
    seriesInstanceUid: ds.SeriesInstanceUID,
    frames: Number(ds.NumberOfFrames),
    segments: summaries,
    provenance,
    dropped,
  };
}

/**
 * dcmjs wants the whole dataset; the SEG needs none of the source's pixels, so a two-byte stand-in
 * replaces them: less memory, and compressed sources (whose pixels dcmjs cannot unpack) work too.
 */
export function toNatural(h: DicomHeader): NaturalDataset {
  const d = h.file.data;
  let dict;
  try {
    dict = dcmjs.data.DicomMessage.readFile(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength) as ArrayBuffer, {
      untilTag: '7FE00010',
      includeUntilTagValue: false,
    });
  } catch (err) {
    throw new InputError(h.file.path ?? h.file.name, `dcmjs cannot read this DICOM file (${(err as Error).message})`);
  }
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
  ds._meta = dcmjs.data.DicomMetaDictionary.namifyDataset(dict.meta);
  ds.PixelData = new ArrayBuffer(2);
  ds._vrMap = { ...(ds._vrMap ?? {}), PixelData: 'OW' };
  return ds;
}

function defaultSegments(labels: Int32Array[]): SegmentSpec[] {
  const values = new Set<number>();
  for (const l of labels) for (let p = 0; p < l.length; p++) if (l[p] !== 0) values.add(l[p]);
  if (values.size === 0) throw new InputError(undefined, 'the mask is empty (no non-zero voxels)');
  if (values.size > 255) throw new InputError(undefined, `the mask has ${values.size} distinct values; a label mask is expected (is it an image?)`);
  return [...values].sort((a, b) => a - b).map((v) => ({ label: `Label ${v}`, value: v }));
}

function checkSpecs(specs: SegmentSpec[], maskLabel: string): void {
  const seen = new Set<number>();
  for (const s of specs) {
    if (!Number.isInteger(s.value) || s.value <= 0) throw new InputError(maskLabel, `segment "${s.label}": value must be a positive integer (got ${s.value})`);
    if (seen.has(s.value)) throw new InputError(maskLabel, `value ${s.value} is given to two segments`);
    if (!s.label.trim()) throw new InputError(maskLabel, `segment with value ${s.value} has an empty name`);
    seen.add(s.value);
  }
}

/** dcmjs logs through loglevel at "warn" (e.g. "only works with 16 bit data" for the stand-in pixels); keep CLI output clean. */
export function withQuietDcmjs<T>(fn: () => T): T {
  const before = dcmjs.log.getLevel();
  dcmjs.log.setLevel('silent');
  try {
    return fn();
  } finally {
    dcmjs.log.setLevel(['trace', 'debug', 'info', 'warn', 'error', 'silent'][before] ?? 'warn');
  }
}
