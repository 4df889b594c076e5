/**
 * Coded terminology for DICOM-SEG segments (SegmentedPropertyCategory/Type, DICOM CID 7150/7153/7140).
 * Brain structures carry their SNOMED CT codes so that a PACS viewer or a volumetry tool can tell
 * "hippocampus" from any other label without reading our free-text names; anything we do not know gets
 * a generic "Tissue" code and keeps its user-given label.
 */

export interface Code {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

const sct = (value: string, meaning: string): Code => ({ CodeValue: value, CodingSchemeDesignator: 'SCT', CodeMeaning: meaning });

export const ANATOMICAL_STRUCTURE = sct('91723000', 'Anatomical Structure');
export const TISSUE = sct('85756007', 'Tissue');
const LEFT = sct('7771000', 'Left');
const RIGHT = sct('24028007', 'Right');

/** Structure codes from CID 7140 (Brain Structure for Volumetric Measurement) and CID 7153 (CNS). */
const STRUCTURES: { match: RegExp; code: Code }[] = [
  { match: /hippocamp/, code: sct('5366008', 'Hippocampus') },
  { match: /amygdala/, code: sct('4958002', 'Amygdala') },
  { match: /thalam/, code: sct('119406000', 'Thalamus') },
  { match: /caudate/, code: sct('11000004', 'Caudate nucleus') },
  { match: /putamen/, code: sct('89278009', 'Putamen') },
  { match: /pallid/, code: sct('14738005', 'Globus pallidus') },
  { match: /accumbens/, code: sct('427667007', 'Nucleus accumbens') },
  { match: /inf(erior)?[- ]?lat(eral)?[- ]?vent|inferior horn/, code: sct('53118009', 'Inferior horn of lateral ventricle') },
  { match: /lat(eral)?[- ]?ventricle/, code: sct('66720007', 'Lateral ventricle') },
  { match: /(3rd|third)[- ]?ventricle/, code: sct('49841001', 'Third ventricle') },
  { match: /(4th|fourth)[- ]?ventricle/, code: sct('35918002', 'Fourth ventricle') },
  { match: /brain[- ]?stem/, code: sct('119238007', 'Brain stem') },
  { match: /cerebell\w*[- ]?(white|wm)/, code: sct('33060004', 'Cerebellar white matter') },
  { match: /cerebell\w*[- ]?(cortex|gr[ae]y)/, code: sct('25991003', 'Cerebellar cortex') },
  { match: /cerebell/, code: sct('113305005', 'Cerebellum') },
  { match: /(cerebral[- ]?)?white[- ]?matter|\bwm\b/, code: sct('68523003', 'Cerebral white matter') },
  { match: /cortex|cerebral[- ]?gr[ae]y|gr[ae]y[- ]?matter|\bgm\b/, code: sct('40146001', 'Cerebral gray matter') },
  { match: /\bcsf\b|cerebrospinal/, code: sct('65216001', 'Cerebrospinal fluid') },
  { match: /^brain$|whole[- ]?brain|brain[- ]?mask/, code: sct('12738006', 'Brain') },
];

/** CID 7150's category for what disease makes: lesions, tumours, infarcts (matched before any anatomy). */
export const MORPHOLOGICALLY_ALTERED = sct('49755003', 'Morphologically Altered Structure');
export const LESION = sct('52988006', 'Lesion');
const ALTERED: { match: RegExp; code: Code }[] = [
  { match: /tumou?r|neoplas|glioma|glioblastoma|\bgbm\b|metasta|mening[io]oma/, code: sct('108369006', 'Neoplasm') },
  { match: /infarct|stroke|isch[a]?emi/, code: sct('55641003', 'Infarct') },
  { match: /o?edema/, code: sct('79654002', 'Edema') },
  { match: /lesion|plaque|demyelinat|hyperintens|\bms\b|\bwmh\b/, code: LESION },
];

export interface SegmentTerminology {
  category: Code;
  type: Code;
  /** Left/right, when the label says so (SegmentedPropertyTypeModifierCodeSequence). */
  modifier?: Code;
}

/**
 * Terminology for a label such as "Left-Hippocampus", "right thalamus", "tumour" or "MS lesion". A segment of a
 * lesion run (`kind` "lesion") whose name says nothing more is a Lesion, not generic tissue.
 */
export function terminologyFor(label: string, kind: 'anatomy' | 'lesion' = 'anatomy'): SegmentTerminology {
  const l = label.toLowerCase().replace(/[_]+/g, ' ');
  const altered = ALTERED.find((s) => s.match.test(l));
  if (altered) return { category: MORPHOLOGICALLY_ALTERED, type: altered.code };
  const hit = STRUCTURES.find((s) => s.match.test(l));
  if (!hit && kind === 'lesion') return { category: MORPHOLOGICALLY_ALTERED, type: LESION };
  if (!hit) return { category: TISSUE, type: TISSUE };
  const modifier = /\b(left|lh)\b|^l[- ]|left-/.test(l) ? LEFT : /\b(right|rh)\b|^r[- ]|right-/.test(l) ? RIGHT : undefined;
  return { category: ANATOMICAL_STRUCTURE, type: hit.code, ...(modifier ? { modifier } : {}) };
}

/** A distinct colour per segment (CIELab, scaled to 0..65535 as DICOM wants) so viewers do not draw all segments alike. */
export function displayColourLab(index: number): [number, number, number] {
  // Golden-angle hue steps in sRGB, converted to CIELab (D65).
  const h = (index * 137.508) % 360;
  const [r, g, b] = hslToRgb(h / 360, 0.7, 0.5);
  const lin = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const X = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
  const Y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const Z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (841 / 108) * t + 4 / 29);
  const L = 116 * f(Y) - 16;
  const a = 500 * (f(X) - f(Y));
  const bb = 200 * (f(Y) - f(Z));
  const scale = (v: number, lo: number, hi: number) => Math.max(0, Math.min(65535, Math.round(((v - lo) / (hi - lo)) * 65535)));
  return [scale(L, 0, 100), scale(a, -128, 127), scale(bb, -128, 127)];
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  const hue = (t: number) => {
    t = (t + 1) % 1;
    if (t < 1 / 6) return p + (q - p) * 6 * t;
    if (t < 1 / 2) return q;
    if (t < 2 / 3) return p + (q - p) * (2 / 3 - t) * 6;
    return p;
  };
  return [hue(h + 1 / 3), hue(h), hue(h - 1 / 3)];
}
