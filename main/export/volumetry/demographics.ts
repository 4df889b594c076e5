import { InputError } from '../../common/errors.js';
import type { Demographics, Sex } from './types.js';

/** PatientAge (AS: "045Y", "018M", "012W", "030D") in years; null when absent, malformed or "000Y". */
export function parseDicomAge(as: unknown): number | null {
  const m = /^(\d{3})([DWMY])$/.exec(String(as ?? '').trim());
  if (!m) return null;
  const n = Number(m[1]);
  // Anonymizers blank the age as "000Y"; an infant's age is given in days, weeks or months, so 0 years means unknown.
  if (n === 0 && m[2] === 'Y') return null;
  return m[2] === 'Y' ? n : m[2] === 'M' ? n / 12 : m[2] === 'W' ? (n * 7) / 365.25 : n / 365.25;
}

/** Whole years between two DICOM dates (YYYYMMDD), as an age is counted; null when either is not a date. */
export function ageBetween(birth: unknown, on: unknown): number | null {
  const b = /^(\d{4})(\d{2})(\d{2})$/.exec(String(birth ?? '').trim());
  const d = /^(\d{4})(\d{2})(\d{2})$/.exec(String(on ?? '').trim());
  if (!b || !d) return null;
  const [by, bm, bd] = b.slice(1).map(Number);
  const [dy, dm, dd] = d.slice(1).map(Number);
  if (bm < 1 || bm > 12 || dm < 1 || dm > 12) return null;
  const years = dy - by - (dm < bm || (dm === bm && dd < bd) ? 1 : 0);
  return years >= 0 && years < 150 ? years : null;
}

function parseSex(s: unknown): Sex | undefined {
  const v = String(s ?? '')
    .trim()
    .toUpperCase();
  return v === 'M' || v === 'MALE' ? 'M' : v === 'F' || v === 'FEMALE' ? 'F' : undefined;
}

/**
 * Age and sex for the norms: what the user gave wins; else the DICOM header (PatientAge, or PatientBirthDate and
 * StudyDate; PatientSex M/F: "O" or empty leaves it unknown). `header` is the volume's `source.dicom`.
 */
export function demographicsOf(header: Record<string, string | number> | undefined, given: { age?: number; sex?: string } = {}): Demographics {
  const sources: string[] = [];
  let age: number | undefined;
  let sex: Sex | undefined;
  if (given.age !== undefined) {
    if (!Number.isFinite(given.age) || given.age < 0 || given.age > 130) throw new InputError(undefined, `age ${given.age} is not an age in years`, 'usage');
    age = given.age;
    sources.push('age given by the user');
  }
  if (given.sex !== undefined) {
    sex = parseSex(given.sex);
    if (!sex) throw new InputError(undefined, `sex "${given.sex}": give M or F`, 'usage');
    sources.push('sex given by the user');
  }
  if (age === undefined && header) {
    const fromAs = parseDicomAge(header.patientAge);
    const fromDates = fromAs === null ? ageBetween(header.patientBirthDate, header.studyDate) : null;
    if (fromAs !== null) {
      age = fromAs;
      sources.push('age from DICOM PatientAge');
    } else if (fromDates !== null) {
      age = fromDates;
      sources.push('age from DICOM PatientBirthDate and StudyDate');
    }
  }
  if (sex === undefined && header) {
    sex = parseSex(header.patientSex);
    if (sex) sources.push('sex from DICOM PatientSex');
  }
  return { ...(age !== undefined ? { age } : {}), ...(sex ? { sex } : {}), source: sources.length ? sources.join('; ') : 'age and sex unknown' };
}
