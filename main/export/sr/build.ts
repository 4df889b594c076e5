import dcmjs, { type NaturalDataset } from 'dcmjs';
import { InputError } from '../../common/errors.js';
import type { DicomHeader } from '../../imaging/dicom/header.js';
import type { SegDocument } from '../../imaging/dicom/seg.js';
import { SEG_SOP_CLASS } from '../../imaging/dicom/seg.js';
import type { Volume } from '../../imaging/volume.js';
import { voxelVolumeMm3 } from '../../imaging/volume.js';
import { appVersion } from '../../settings/version.js';
import { toNatural, withQuietDcmjs } from '../seg/build.js';
import { copyStudyAttributes, dropInvalidCopies } from '../seg/fixes.js';
import { mapFramesToMask } from '../seg/frames.js';
import { algorithmName, contributingEquipment, EQUIPMENT, provenanceText } from '../seg/provenance.js';
import { terminologyFor } from '../seg/terminology.js';
import type { DroppedAttribute, SegmentSpec, SegProvenance } from '../types.js';

/** Comprehensive SR: TID 1500 with volumes needs no 3D coordinates, and more archives and viewers know it than 3D SR. */
export const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';

export interface SrBuildOptions {
  /** Segments to report; by default one per distinct non-zero mask value, "Label N". */
  segments?: SegmentSpec[];
  provenance?: SegProvenance;
  /** The DICOM-SEG of the same mask: each measurement then references its segment (TID 1411 "Referenced Segment"). */
  seg?: SegReference;
  seriesDescription?: string;
  seriesNumber?: number;
  softwareVersion?: string;
}

/** What the SR needs of a SEG: its identity, the series it was drawn on, and its segments (read back, or just exported). */
export type SegReference = Pick<SegDocument, 'label' | 'sopInstanceUid' | 'seriesInstanceUid' | 'studyInstanceUid' | 'referencedSeries'> & {
  segments: { number: number; name: string; recordedValue?: number }[];
};

export interface SrMeasurement {
  label: string;
  value: number;
  voxels: number;
  /** As stored in the SR (NUM, UCUM "ml"). */
  volumeMl: number;
  /** The SEG's segment it references, when a SEG was given. */
  segmentNumber?: number;
  trackingUid: string;
}

export interface SrBuildResult {
  bytes: Uint8Array;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  measurements: SrMeasurement[];
  provenance: SegProvenance;
  dropped: DroppedAttribute[];
}

const { CodedConcept } = dcmjs.sr.coding;
const V = dcmjs.sr.valueTypes;
const R = V.RelationshipTypes;
const T = dcmjs.sr.templates;
const code = (value: string, scheme: string, meaning: string) => new CodedConcept({ value, schemeDesignator: scheme, meaning });

/**
 * A DICOM Structured Report (TID 1500 Measurement Report) of the volume of each segment of `mask`, on the
 * series it was made on: one TID 1411 measurement group per segment (tracking identifier, the source series,
 * the segment of `options.seg` where given, finding and finding site with laterality, the volume in mL with
 * the algorithm that made it). Built with dcmjs's SR content-item classes and written by dcmjs.
 */
export function buildSr(mask: Volume, maskLabel: string, reference: { label: string; headers: DicomHeader[] }, options: SrBuildOptions = {}): SrBuildResult {
  const sources = reference.headers.map((h) => toNatural(h));
  const multi = withQuietDcmjs(() => dcmjs.normalizers.Normalizer.normalizeToDataset(sources));
  if (!multi) throw new InputError(reference.label, `cannot be referenced: dcmjs has no normalizer for SOP class ${reference.headers[0].sopClassUid}`);
  // The volumes are the mask's, but the report says they were measured on this series: the mask must lie on its grid.
  mapFramesToMask(multi, mask, maskLabel);
  // The normalizer gives its multiframe a new series UID; the source files keep the real one.
  const seriesUid = String(sources[0].SeriesInstanceUID);
  if (options.seg && !options.seg.referencedSeries.includes(seriesUid)) {
    throw new InputError(
      options.seg.label,
      `the SEG references series ${options.seg.referencedSeries.join(', ') || '(none)'}, not the reference series ${seriesUid}`,
    );
  }

  const counts = new Map<number, number>();
  for (let i = 0; i < mask.data.length; i++) {
    const v = Math.round(mask.data[i] * mask.slope + mask.intercept);
    if (v !== 0) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const specs = options.segments?.length ? options.segments : [...counts.keys()].sort((a, b) => a - b).map((v) => ({ label: `Label ${v}`, value: v }));
  if (specs.length === 0) throw new InputError(maskLabel, 'the mask is empty (no non-zero voxels)');
  const mm3 = voxelVolumeMm3(mask.affine);
  const provenance: SegProvenance = options.provenance ?? { type: 'AUTOMATIC', algorithmName: 'Neuroverse3D' };
  const version = options.softwareVersion ?? appVersion();

  const measurements: SrMeasurement[] = [];
  const groups = specs.map((s) => {
    const voxels = counts.get(s.value) ?? 0;
    if (voxels === 0) throw new InputError(maskLabel, `segment "${s.label}" (value ${s.value}) has no voxels in the mask`);
    // NumericValue is a DS (16 characters): 0.1 µL steps are far below a voxel; the exact value goes in FloatingPointValue.
    const exactMl = (voxels * mm3) / 1000;
    const volumeMl = Number(exactMl.toFixed(4));
    const segNumber = options.seg ? segmentNumberOf(options.seg, s) : undefined;
    const m: SrMeasurement = { label: s.label, value: s.value, voxels, volumeMl, trackingUid: dcmjs.data.DicomMetaDictionary.uid() };
    if (segNumber !== undefined) m.segmentNumber = segNumber;
    measurements.push(m);
    return measurementGroup(m, exactMl, seriesUid, options.seg, provenance, version);
  });

  const device = new T.ObserverContext({
    observerType: code('121007', 'DCM', 'Device'),
    observerIdentifyingAttributes: new T.DeviceObserverIdentifyingAttributes({
      uid: dcmjs.data.DicomMetaDictionary.uid(),
      manufacturerName: EQUIPMENT.manufacturer,
      modelName: EQUIPMENT.model,
    }),
  });
  const report = new T.MeasurementReport({
    languageOfContentItemAndDescendants: new T.LanguageOfContentItemAndDescendants({}),
    // An automatic result: the device is the observer (TID 1002 allows a device alone; dcmjs's ObservationContext insists on a person).
    observationContext: device,
    procedureReported: code('363679005', 'SCT', 'Imaging procedure'),
    imagingMeasurements: groups.flat(),
  });

  const evidence: NaturalDataset[] = sources.map((s) => ({
    SOPClassUID: s.SOPClassUID,
    SOPInstanceUID: s.SOPInstanceUID,
    SeriesInstanceUID: s.SeriesInstanceUID,
    StudyInstanceUID: s.StudyInstanceUID,
  }));
  if (options.seg)
    evidence.push({
      SOPClassUID: SEG_SOP_CLASS,
      SOPInstanceUID: options.seg.sopInstanceUid,
      SeriesInstanceUID: options.seg.seriesInstanceUid,
      StudyInstanceUID: options.seg.studyInstanceUid,
    });
  const doc = new dcmjs.sr.documents.Comprehensive3DSR({
    evidence,
    content: report[0],
    seriesInstanceUID: dcmjs.data.DicomMetaDictionary.uid(),
    seriesNumber: String(options.seriesNumber ?? 2000 + (Number(sources[0].SeriesNumber) || 0)),
    seriesDescription: (options.seriesDescription ?? `Volumes ${String(sources[0].SeriesDescription ?? '')}`).trim().slice(0, 64),
    sopInstanceUID: dcmjs.data.DicomMetaDictionary.uid(),
    instanceNumber: '1',
    manufacturer: EQUIPMENT.manufacturer,
    isComplete: true,
    isVerified: false,
    isFinal: false,
  });
  const ds = plain(doc) as NaturalDataset;
  ds.SOPClassUID = COMPREHENSIVE_SR;
  // The measured images were acquired for this study's request: they are its evidence, not "other" evidence.
  ds.CurrentRequestedProcedureEvidenceSequence = ds.PertinentOtherEvidenceSequence;
  delete ds.PertinentOtherEvidenceSequence;
  delete ds.RelationshipType;
  copyStudyAttributes(ds, sources[0]);
  // An SR has no Frame of Reference module: its measurements point at images, not at coordinates.
  delete ds.FrameOfReferenceUID;
  delete ds.PositionReferenceIndicator;
  const dropped = dropInvalidCopies(ds, [sources[0]]);
  const now = new Date();
  Object.assign(ds, {
    ManufacturerModelName: EQUIPMENT.model,
    SoftwareVersions: version.slice(0, 64),
    SeriesDate: dcmjs.data.DicomMetaDictionary.date(),
    SeriesTime: dcmjs.data.DicomMetaDictionary.time(),
    InstanceCreationDate: dcmjs.data.DicomMetaDictionary.date(),
    InstanceCreationTime: dcmjs.data.DicomMetaDictionary.time(),
    ContributingEquipmentSequence: [contributingEquipment(provenance, version, now)],
  });
  ds._meta = {
    MediaStorageSOPClassUID: { Value: [COMPREHENSIVE_SR], vr: 'UI' },
    MediaStorageSOPInstanceUID: { Value: [ds.SOPInstanceUID], vr: 'UI' },
    TransferSyntaxUID: { Value: ['1.2.840.10008.1.2.1'], vr: 'UI' },
    ImplementationClassUID: { Value: ['2.25.80302813137786398554742050926734630921'], vr: 'UI' },
  };
  const bytes = new Uint8Array(withQuietDcmjs(() => dcmjs.data.datasetToDict(ds).write()));
  return { bytes, sopInstanceUid: ds.SOPInstanceUID, seriesInstanceUid: ds.SeriesInstanceUID, measurements, provenance, dropped };
}

/** TID 1411 for one segment, as an array of one CONTAINER content item. */
function measurementGroup(
  m: SrMeasurement,
  exactMl: number,
  seriesUid: string,
  seg: SegReference | undefined,
  p: SegProvenance,
  version: string,
): NaturalDataset[] {
  const group = new V.ContainerContentItem({ name: code('125007', 'DCM', 'Measurement Group'), relationshipType: R.CONTAINS, templateID: '1411' });
  const content: NaturalDataset[] = [...new T.TrackingIdentifier({ identifier: m.label.slice(0, 64), uid: m.trackingUid })];
  if (seg && m.segmentNumber !== undefined) {
    const ref = new V.ImageContentItem({
      name: code('121191', 'DCM', 'Referenced Segment'),
      relationshipType: R.CONTAINS,
      referencedSOPClassUID: SEG_SOP_CLASS,
      referencedSOPInstanceUID: seg.sopInstanceUid,
    });
    // dcmjs 0.51's ImageContentItem never sets ReferencedSegmentNumber (it tests a misspelt option), so it is set here.
    ref.ReferencedSOPSequence[0].ReferencedSegmentNumber = m.segmentNumber;
    content.push(ref);
  }
  content.push(new V.UIDRefContentItem({ name: code('121232', 'DCM', 'Source series for segmentation'), relationshipType: R.CONTAINS, value: seriesUid }));
  const t = terminologyFor(m.label);
  const structure = code(t.type.CodeValue, t.type.CodingSchemeDesignator, t.type.CodeMeaning);
  content.push(new V.CodeContentItem({ name: code('121071', 'DCM', 'Finding'), relationshipType: R.CONTAINS, value: structure }));
  content.push(
    new dcmjs.sr.contentItems.FindingSite({
      anatomicLocation: structure,
      ...(t.modifier ? { laterality: code(t.modifier.CodeValue, t.modifier.CodingSchemeDesignator, t.modifier.CodeMeaning) } : {}),
    }),
  );
  const volume = new V.NumContentItem({
    name: code('118565006', 'SCT', 'Volume'),
    relationshipType: R.CONTAINS,
    value: m.volumeMl,
    unit: code('ml', 'UCUM', 'milliliter'),
  });
  volume.MeasuredValueSequence[0].FloatingPointValue = exactMl;
  if (p.type !== 'MANUAL') {
    const params = provenanceText(p);
    volume.ContentSequence = [
      ...new T.AlgorithmIdentification({
        name: algorithmName(p),
        version: (p.algorithmVersion ?? version).slice(0, 64),
        ...(params ? { parameters: [params.slice(0, 1024)] } : {}),
      }),
    ];
  }
  content.push(volume);
  group.ContentSequence = content;
  return [group];
}

/** The SEG's segment for a mask value: the value our SEG export recorded, else the same label. */
function segmentNumberOf(seg: SegReference, s: SegmentSpec): number {
  const byValue = seg.segments.find((x) => x.recordedValue === s.value);
  const byLabel = seg.segments.find((x) => x.name === s.label);
  const hit = byValue ?? byLabel;
  if (!hit)
    throw new InputError(
      seg.label,
      `has no segment for "${s.label}" (value ${s.value}): segments are ${seg.segments.map((x) => `${x.number} "${x.name}"`).join(', ')}`,
    );
  return hit.number;
}

/**
 * dcmjs's SR classes are arrays and objects with prototypes and accessors; the writer wants plain JSON. An empty
 * ContentSequence (dcmjs gives every Finding Site one, for a laterality that may not come) is left out: present
 * and empty, it is an error (Document Relationship macro, type 1C).
 */
function plain(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (k, v) => (k === 'ContentSequence' && Array.isArray(v) && v.length === 0 ? undefined : v instanceof Array ? [...v] : v)));
}
