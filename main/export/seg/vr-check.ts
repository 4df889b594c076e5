import dcmjs, { type NaturalDataset } from 'dcmjs';

/**
 * Value-representation rules of PS3.5 §6.2 for the string VRs, checked on attributes a SEG copies from its
 * source. Written here because dcmjs checks only lengths, and only while writing (it throws, or truncates
 * with a log line): a copied value must be judged before the SEG is built, so it can be left out and reported.
 */
const MAX_CHARS: Record<string, number> = { AE: 16, CS: 16, DS: 16, IS: 12, LO: 64, SH: 16, ST: 1024, LT: 10240, UI: 64, DT: 26, TM: 14 };

// Control characters allowed: ESC everywhere (ISO 2022 escapes); in texts also TAB, LF, FF, CR.
const CONTROL_SHORT = /[\u0000-\u001a\u001c-\u001f]/;
const CONTROL_TEXT = /[\u0000-\u0008\u000b\u000e-\u001a\u001c-\u001f]/;

const FORMATS: Record<string, RegExp> = {
  AS: /^\d{3}[DWMY]$/,
  CS: /^[A-Z0-9 _]*$/,
  DA: /^\d{8}$/,
  DS: /^ *[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)? *$/,
  DT: /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$/,
  IS: /^ *[+-]?\d+ *$/,
  TM: /^([01]\d|2[0-3])([0-5]\d([0-5]\d(\.\d{1,6})?)?)?$/,
  UI: /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/,
};

/** Why one value breaks its VR, or null when it is valid. */
export function vrProblem(vr: string, value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `${value} is not a number this VR can hold`;
    if (vr === 'IS' && (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31)) return `${value} is not a 32-bit integer`;
    return null;
  }
  if (vr === 'PN') return personNameProblem(value);
  if (typeof value !== 'string') return null;
  const max = MAX_CHARS[vr];
  if (max !== undefined && value.length > max) return `${value.length} characters, at most ${max} allowed`;
  if (['AE', 'CS', 'LO', 'SH', 'DS', 'IS', 'DA', 'TM', 'DT', 'UI', 'AS'].includes(vr)) {
    if (value.includes('\\')) return 'a backslash inside one value';
    if (CONTROL_SHORT.test(value)) return 'a control character';
  }
  if (['ST', 'LT', 'UT', 'UC'].includes(vr) && CONTROL_TEXT.test(value)) return 'a control character';
  const format = FORMATS[vr];
  if (format && !format.test(vr === 'CS' || vr === 'AE' ? value.trimEnd() : value)) return `"${value}" is not a valid ${vr}`;
  if (vr === 'DA' && !validDate(value)) return `"${value}" is not a calendar date`;
  if (vr === 'IS' && Math.abs(Number(value)) >= 2 ** 31) return `${value} is not a 32-bit integer`;
  return null;
}

function validDate(s: string): boolean {
  const y = Number(s.slice(0, 4));
  const m = Number(s.slice(4, 6));
  const d = Number(s.slice(6, 8));
  return m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function personNameProblem(value: unknown): string | null {
  const names = typeof value === 'string' ? [value] : typeof value === 'object' && value ? Object.values(value as Record<string, unknown>) : [];
  for (const name of names) {
    if (typeof name !== 'string') continue;
    for (const group of name.split('=')) {
      if (group.length > 64) return `a name group of ${group.length} characters, at most 64 allowed`;
      if (group.split('^').length > 5) return 'more than five name components';
      if (CONTROL_SHORT.test(group)) return 'a control character';
    }
  }
  return null;
}

export interface VrFinding {
  /** Where in the dataset: keyword path, items numbered from 1 ("ProcedureCodeSequence[1].CodeValue"). */
  path: string;
  vr: string;
  problem: string;
}

const nameMap = (dcmjs.data.DicomMetaDictionary as unknown as { nameMap: Record<string, { tag: string; vr: string }> }).nameMap;

/** Every value of an attribute (and of the items of a sequence, recursively) that breaks its VR. */
export function findVrProblems(keyword: string, value: unknown, path = keyword): VrFinding[] {
  const vr = nameMap[keyword]?.vr;
  if (!vr) return [];
  if (vr === 'SQ') {
    const items = Array.isArray(value) ? value : value ? [value] : [];
    return items.flatMap((it: NaturalDataset, i) =>
      Object.keys(it ?? {})
        .filter((k) => !k.startsWith('_'))
        .flatMap((k) => findVrProblems(k, it[k], `${path}[${i + 1}].${k}`)),
    );
  }
  const values = Array.isArray(value) ? value : [value];
  const found: VrFinding[] = [];
  for (const v of values) {
    const problem = vrProblem(vr, v);
    if (problem) found.push({ path, vr, problem });
  }
  return found;
}

/** The DICOM tag of a keyword as "(gggg,eeee)", for messages. */
export function tagOf(keyword: string): string {
  const t = nameMap[keyword]?.tag;
  return t ?? keyword;
}
