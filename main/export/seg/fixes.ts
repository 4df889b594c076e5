import dcmjs from 'dcmjs';
import type { NaturalDataset } from 'dcmjs';
import type { DroppedAttribute } from '../types.js';
import { item } from './frames.js';
import { findVrProblems, tagOf } from './vr-check.js';

/**
 * Post-fixes to what dcmjs 0.51's Segmentation derivation writes. Each one removes an error or warning
 * that dciodvfy reported on real MR sources (see the platform notes); the SEG is only valid with them.
 */
export function applySegFixes(seg: NaturalDataset, reference: NaturalDataset, sources: NaturalDataset[]): void {
  keepSegSharedGroups(seg, reference);
  fixReferencedSeries(seg);
  copyStudyAttributes(seg, sources[0]);
}

const SHARED_GROUPS_ALLOWED = ['PlaneOrientationSequence', 'PixelMeasuresSequence', 'DerivationImageSequence', 'SegmentIdentificationSequence'];

/**
 * dcmjs copies the source's whole shared functional group (MR frame type, timing, pixel value
 * transformation...), which the Segmentation IOD does not allow. An enhanced source may keep pixel
 * measures per frame; the SEG's frames need them, so the first frame's are made shared.
 */
function keepSegSharedGroups(seg: NaturalDataset, reference: NaturalDataset): void {
  const shared = item(seg.SharedFunctionalGroupsSequence) ?? {};
  const kept: NaturalDataset = {};
  for (const key of SHARED_GROUPS_ALLOWED) if (shared[key] !== undefined) kept[key] = shared[key];
  if (!kept.PixelMeasuresSequence) {
    const first = item(reference.PerFrameFunctionalGroupsSequence?.[0]?.PixelMeasuresSequence);
    if (first) kept.PixelMeasuresSequence = JSON.parse(JSON.stringify(first));
  }
  // A SEG frame is as thick as the source frame: keep the thickness, and spacing only when it is positive.
  const pm = item(kept.PixelMeasuresSequence);
  if (pm && (pm.SpacingBetweenSlices === undefined || !(Number(pm.SpacingBetweenSlices) > 0))) delete pm.SpacingBetweenSlices;
  // dcmjs computes spacing as a double; DS holds 16 characters, and dcmjs would truncate with a console warning.
  if (pm) for (const key of ['SliceThickness', 'SpacingBetweenSlices']) if (pm[key] !== undefined) pm[key] = decimalString(Number(pm[key]));
  if (!kept.PlaneOrientationSequence) {
    const fromFrame = item(reference.PerFrameFunctionalGroupsSequence?.[0]?.PlaneOrientationSequence);
    const allSame = (reference.PerFrameFunctionalGroupsSequence ?? []).every(
      (f: NaturalDataset) => JSON.stringify(item(f.PlaneOrientationSequence)?.ImageOrientationPatient) === JSON.stringify(fromFrame?.ImageOrientationPatient),
    );
    // Orientation identical in all frames belongs in the shared group; dcmjs then leaves it out per frame.
    if (fromFrame && allSame) {
      kept.PlaneOrientationSequence = JSON.parse(JSON.stringify(fromFrame));
      for (const f of seg.PerFrameFunctionalGroupsSequence ?? []) delete f.PlaneOrientationSequence;
    }
  }
  seg.SharedFunctionalGroupsSequence = [kept];
}

/** The shortest decimal of at most 16 characters (the DS limit) for a number. */
export function decimalString(x: number): string {
  for (let digits = 15; digits > 1; digits--) {
    const s = String(Number(x.toPrecision(digits)));
    if (s.length <= 16) return s;
  }
  return x.toExponential(6);
}

/** ReferencedSeriesSequence (Common Instance Reference module) must not carry StudyInstanceUID. */
function fixReferencedSeries(seg: NaturalDataset): void {
  const seqs = Array.isArray(seg.ReferencedSeriesSequence) ? seg.ReferencedSeriesSequence : [seg.ReferencedSeriesSequence];
  for (const s of seqs) if (s) delete s.StudyInstanceUID;
}

/** Study-level attributes (General Study, Patient Study) a PACS keeps per study, beyond group 0010. */
const STUDY_KEYWORDS = [
  'StudyInstanceUID',
  'StudyDate',
  'StudyTime',
  'ReferringPhysicianName',
  'StudyID',
  'AccessionNumber',
  'StudyDescription',
  'ProcedureCodeSequence',
  'PhysiciansOfRecord',
  'NameOfPhysiciansReadingStudy',
  'ReferencedStudySequence',
  'IssuerOfAccessionNumberSequence',
  'AdmittingDiagnosesDescription',
  'AdmittingDiagnosesCodeSequence',
  'PatientState',
  'ReasonForPerformedProcedureCodeSequence',
  'PatientIdentityRemoved',
  'DeidentificationMethod',
  'DeidentificationMethodCodeSequence',
];

/**
 * The SEG belongs to the source's patient and study, so every Patient-IE attribute (group 0010, which
 * also holds the Patient Study module) and the study attributes are copied exactly as the source has
 * them, empty ones included: dcentvfy compares presence, not only values.
 */
export function copyStudyAttributes(seg: NaturalDataset, source: NaturalDataset): void {
  const nameMap = (dcmjs.data.DicomMetaDictionary as unknown as { nameMap: Record<string, { tag: string; vr: string }> }).nameMap;
  for (const key of Object.keys(source)) {
    if (key.startsWith('_')) continue;
    const tag = nameMap[key]?.tag ?? '';
    if (
      tag.startsWith('(0010,') ||
      STUDY_KEYWORDS.includes(key) ||
      key === 'SpecificCharacterSet' ||
      key === 'FrameOfReferenceUID' ||
      key === 'PositionReferenceIndicator'
    ) {
      const value = source[key];
      // An empty sequence is invalid even where the source has one (dciodvfy: 1-n items required).
      if (Array.isArray(value) && value.length === 0 && nameMap[key]?.vr === 'SQ') continue;
      seg[key] = JSON.parse(JSON.stringify(value));
    }
  }
  for (const key of ['Laterality']) if (seg[key] === '' || (Array.isArray(seg[key]) && seg[key].length === 0)) delete seg[key];
  for (const key of MUST_BE_PRESENT) if (seg[key] === undefined) seg[key] = '';
}

/** Type 2 attributes of the SEG's patient, study and frame of reference modules: present, even if empty. */
const MUST_BE_PRESENT = [
  'AccessionNumber',
  'ReferringPhysicianName',
  'StudyID',
  'StudyDate',
  'StudyTime',
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'PositionReferenceIndicator',
];
/** Type 1 attributes the SEG takes from its source: without them it has no place in the study. */
const CANNOT_DROP = ['StudyInstanceUID', 'FrameOfReferenceUID', 'SpecificCharacterSet'];

/**
 * Attributes copied from the source (same keyword, same value) whose value breaks its VR are left out of
 * the SEG (or emptied, where the SEG must have them), so the SEG is valid even when its source is not;
 * what was dropped is returned for the export to say.
 */
export function dropInvalidCopies(seg: NaturalDataset, sources: NaturalDataset[]): DroppedAttribute[] {
  const dropped: DroppedAttribute[] = [];
  for (const key of Object.keys(seg)) {
    if (key.startsWith('_')) continue;
    const value = JSON.stringify(seg[key]);
    if (!sources.some((s) => s[key] !== undefined && JSON.stringify(s[key]) === value)) continue;
    const problems = findVrProblems(key, seg[key]);
    if (problems.length === 0) continue;
    const action = CANNOT_DROP.includes(key) ? 'kept' : MUST_BE_PRESENT.includes(key) ? 'emptied' : 'dropped';
    if (action === 'emptied') seg[key] = '';
    if (action === 'dropped') delete seg[key];
    dropped.push({ keyword: key, tag: tagOf(key), action, problems: problems.map((p) => `${p.path} (${p.vr}): ${p.problem}`) });
  }
  return dropped;
}
